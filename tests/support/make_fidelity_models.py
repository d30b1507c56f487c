#!/usr/bin/python3
"""Writes the XGBoost fidelity fixtures the C++ tests score against.

Usage: /usr/bin/python3 tests/support/make_fidelity_models.py OUT_DIR

Needs Debian's python3-xgboost (1.7.4), python3-numpy and python3-yaml (see
install-deps.sh); not MLflow, whose files are written here by hand: the
layout follows mlflow/xgboost/__init__.py (save_model), mlflow/models/model.py
(Model.to_dict, Model.save), mlflow/pyfunc/__init__.py (add_to_model) and
mlflow/types/schema.py (ColSpec.to_dict, TensorSpec.to_dict). Trains a
few small models (300 rows, 5 features, at most 9 trees, one thread, fixed
seeds: the output is the same on every run) and writes under OUT_DIR:

  <case name>/            one MLflow model directory per case, laid out as
                          mlflow.xgboost.save_model (MLflow 2.9) writes it:
                          MLmodel, model.<json|ubj|xgb>, conda.yaml,
                          python_env.yaml, requirements.txt
  cases.json              a list with one object per case:
    name, model_dir (relative to OUT_DIR), model_file, model_class,
    objective, num_class, format, early_stopping, best_iteration (the
    booster's best_iteration attribute after reloading the file, or null),
    num_rounds (trees per class in the file), n_estimators (rounds asked
    for), iteration_end (trees per class the expected values use),
    booster_feature_names / booster_feature_types (as stored in the file;
    null in the legacy binary format), feature_binding ("name": signature
    columns are bound to the booster's features by name; "position": the
    booster stores no names, so signature column i is feature i),
    booster_input_order (the signature column fed to each booster feature),
    signature (list of {name, type, required}), pyfunc_output and
    pyfunc_uses_best_iteration (what mlflow.pyfunc's predict returns for the
    model, see PYFUNC_OUTPUT below), and rows.
  Each row is
    {"features": {column: value}, "missing_required": [...],
     "probability": [...], "label": int or null, "margin": [...]}
  where a value is a JSON number, null, the string "NaN", or the column is
  absent; all four missing forms are fed to XGBoost as NaN, its missing
  value. Features are fed as float32, as XGBoost stores them. When the
  expected values stop at best_iteration before the last tree, the row also
  has probability_all_trees, label_all_trees and margin_all_trees.

How the expected values are computed (from the saved file, reloaded as
mlflow.xgboost._load_model does: `model = <model_class>(); model.load_model(path)`):
  xgboost.core.Booster (m):
    dm = xgb.DMatrix(X, missing=nan, feature_names=m.feature_names,
                     feature_types=m.feature_types)
    end = int(m.attr("best_iteration")) + 1 if that attribute exists, else all trees
    probability = m.predict(dm, iteration_range=(0, end))            (a row; 3 values for multi:softprob)
    margin = m.predict(dm, output_margin=True, iteration_range=(0, end))
    label = int(probability > 0.5) for binary:logistic, argmax for multi:softprob, null for regression
  xgboost.sklearn.XGBClassifier (m; predict uses best_iteration by itself):
    probability = m.predict_proba(X)[:, 1] for binary, m.predict_proba(X) for multi-class
    label = m.predict(X);  margin = m.predict(X, output_margin=True)
  xgboost.sklearn.XGBRegressor (m):
    probability = m.predict(X);  label = null;  margin = m.predict(X, output_margin=True)
  The *_all_trees values pass iteration_range=(0, num_rounds) instead.

The script checks what it writes and fails (exit 1) if a check fails:
reloading is deterministic, the three formats of one model predict alike,
the scikit-learn classes agree with the Booster calls above, early stopping
left best_iteration well before the last tree and all trees predict
differently, missing values take default directions (NaN does not predict
like 0), and binding a reordered signature by name differs from binding it
by position.
"""

import hashlib
import json
import os
import platform
import shutil
import sys
import time
import uuid

# One thread: deterministic, and the fixtures are tiny.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402
import yaml  # noqa: E402

MLFLOW_VERSION = "2.9.2"  # the version predstore's own sample writer claims
UTC_TIME_CREATED = "2024-01-15 12:00:00.000000"  # str(datetime.utcnow()) form, fixed for determinism
FEATURES = ["x0", "x1", "x2", "x3", "x4"]
FORMATS = ["json", "ubj", "xgb"]
ROWS_PER_CASE = 20
TOL = 1e-6

CLASS_PATHS = {
    "booster": "xgboost.core.Booster",
    "classifier": "xgboost.sklearn.XGBClassifier",
    "regressor": "xgboost.sklearn.XGBRegressor",
}
LOADERS = {
    "xgboost.core.Booster": xgb.Booster,
    "xgboost.sklearn.XGBClassifier": xgb.XGBClassifier,
    "xgboost.sklearn.XGBRegressor": xgb.XGBRegressor,
}


# What mlflow.pyfunc's predict returns. mlflow/xgboost/__init__.py:
# _XGBModelWrapper.predict calls _wrapped_xgboost_model_predict_fn(model),
# which for an xgb.Booster returns
#     model.predict(xgb.DMatrix(data), validate_features=True)
# (Booster.predict: probabilities for binary:logistic and multi:softprob, the
# value for reg:squarederror; all trees, as Booster.predict's default
# iteration_range=(0, 0) ignores best_iteration), and for an xgb.XGBModel
# returns partial(model.predict, validate_features=True): class labels for
# XGBClassifier, values for XGBRegressor, both up to best_iteration.
def pyfunc_output(kind, objective):
    if kind == "classifier":
        return "label"
    if kind == "regressor" or objective == "reg:squarederror":
        return "value"
    return "probability"


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


# ----------------------------------------------------------------------------
# Training data and models


def training_data(seed, n, objective, long_column):
    """n rows of 5 features with NaN in x0, x1 and x3, and labels that depend
    on whether x1 and x3 are missing, so that trees learn default directions.
    long_column: the index of a column holding small non-negative integers."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    if long_column is not None:
        x[:, long_column] = rng.integers(0, 8, size=n)
    for column, rate in ((0, 0.05), (1, 0.2), (3, 0.15)):
        if column != long_column:
            x[rng.random(n) < rate, column] = np.nan
    x2 = x[:, 2] if long_column != 2 else (x[:, 2] - 3.5) / 2.3
    score = (np.nan_to_num(x[:, 0], nan=-1.0) - 0.8 * np.nan_to_num(x[:, 1], nan=1.5)
             + 0.5 * x2 * np.nan_to_num(x[:, 3], nan=-1.0) + 0.3 * x[:, 4])
    noise = rng.normal(scale=0.8, size=n)
    if objective == "binary:logistic":
        y = (score + noise > 0).astype(np.int64)
    elif objective == "multi:softprob":
        z = score + noise
        y = np.where(z < -0.6, 0, np.where(z < 0.6, 1, 2)).astype(np.int64)
    else:
        y = 10.0 + 3.0 * score + 3.0 * noise
    return x.astype(np.float32), y


def feature_types(long_column):
    # What xgboost 1.7 stores for a pandas DataFrame of float64 columns
    # (and an int64 one).
    return ["int" if i == long_column else "float" for i in range(len(FEATURES))]


# Early stopping: eta 0.7 and deep trees overfit the noisy labels within a
# few rounds; early_stopping_rounds=6 of 9 keeps all 9 trees in the file.
EARLY_SEED = 10
EARLY = dict(rounds=9, stopping_rounds=6, eta=0.7, depth=6)
PLAIN = dict(rounds=8, eta=0.3, depth=3)


def train(kind, objective, early, long_column):
    seed = {"binary:logistic": 11, "reg:squarederror": 12, "multi:softprob": 13}[objective]
    if early:
        seed = EARLY_SEED
    x, y = training_data(seed, 300, objective, long_column)
    xv, yv = training_data(seed + 1000, 100, objective, long_column)
    names, types = FEATURES, feature_types(long_column)
    hp = EARLY if early else PLAIN
    metric = {"binary:logistic": "logloss", "reg:squarederror": "rmse", "multi:softprob": "mlogloss"}[objective]
    if kind == "booster":
        params = {"objective": objective, "max_depth": hp["depth"], "eta": hp["eta"], "seed": 0,
                  "nthread": 1, "eval_metric": metric}
        if objective == "multi:softprob":
            params["num_class"] = 3
        train_matrix = xgb.DMatrix(x, label=y, feature_names=names, feature_types=types)
        kwargs = {}
        if early:
            kwargs = dict(evals=[(xgb.DMatrix(xv, label=yv, feature_names=names, feature_types=types),
                                  "validation")],
                          early_stopping_rounds=hp["stopping_rounds"], verbose_eval=False)
        model = xgb.train(params, train_matrix, num_boost_round=hp["rounds"], **kwargs)
        return model, model
    cls = xgb.XGBClassifier if kind == "classifier" else xgb.XGBRegressor
    kwargs = dict(n_estimators=hp["rounds"], max_depth=hp["depth"], learning_rate=hp["eta"],
                  n_jobs=1, random_state=0, eval_metric=metric)
    if early:
        kwargs["early_stopping_rounds"] = hp["stopping_rounds"]
    model = cls(**kwargs)
    if early:
        model.fit(x, y, eval_set=[(xv, yv)], verbose=False)
    else:
        model.fit(x, y)
    check(model.objective == objective, f"{cls.__name__} trained {model.objective}, wanted {objective}")
    # As if fitted on a pandas DataFrame with columns x0..x4 (pandas is not
    # installed here): xgboost 1.7 stores the column names and dtypes.
    booster = model.get_booster()
    booster.feature_names = names
    booster.feature_types = types
    return model, booster


# ----------------------------------------------------------------------------
# MLflow model directory, as mlflow.xgboost.save_model writes it


def write_mlflow_model(model_dir, name, model, model_format, model_class, inputs, outputs):
    os.makedirs(model_dir)
    data = f"model.{model_format}"
    # mlflow.xgboost.save_model: xgb_model.save_model(os.path.join(path, f"model.{model_format}"))
    model.save_model(os.path.join(model_dir, data))
    python_version = platform.python_version()
    # mlflow.pyfunc.add_to_model + Model.add_flavor(FLAVOR_NAME, xgb_version=...,
    # data=..., model_class=..., model_format=..., code=None); Model.to_dict
    # drops run_id and artifact_path when None (save_model, not log_model);
    # ModelSignature.to_dict holds Schema.to_json() strings; Model.save is
    # yaml.safe_dump(default_flow_style=False): sorted keys, long strings folded.
    mlmodel = {
        "flavors": {
            "python_function": {
                "data": data,
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.xgboost",
                "python_version": python_version,
            },
            "xgboost": {
                "code": None,
                "data": data,
                "model_class": model_class,
                "model_format": model_format,
                "xgb_version": xgb.__version__,
            },
        },
        "mlflow_version": MLFLOW_VERSION,
        "model_uuid": uuid.uuid5(uuid.NAMESPACE_URL, "predstore-fidelity/" + name).hex,
        "signature": {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None},
        "utc_time_created": UTC_TIME_CREATED,
    }
    with open(os.path.join(model_dir, "MLmodel"), "w") as out:
        yaml.safe_dump(mlmodel, out, default_flow_style=False)
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version}", "pip<=23.0.1",
                         {"pip": [f"mlflow=={MLFLOW_VERSION}", f"xgboost=={xgb.__version__}"]}],
        "name": "mlflow-env",
    }
    with open(os.path.join(model_dir, "conda.yaml"), "w") as out:
        yaml.safe_dump(conda, out, default_flow_style=False)
    python_env = {"python": python_version,
                  "build_dependencies": ["pip==23.0.1", "setuptools==66.1.1", "wheel==0.38.4"],
                  "dependencies": ["-r requirements.txt"]}
    with open(os.path.join(model_dir, "python_env.yaml"), "w") as out:
        yaml.safe_dump(python_env, out, sort_keys=False)
    with open(os.path.join(model_dir, "requirements.txt"), "w") as out:
        out.write(f"mlflow=={MLFLOW_VERSION}\nxgboost=={xgb.__version__}")


# ----------------------------------------------------------------------------
# Test rows


def split_thresholds(booster):
    """Split conditions per feature index, as float32 values."""
    model = json.loads(booster.save_raw(raw_format="json"))
    found = {}
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for left, feature, condition in zip(tree["left_children"], tree["split_indices"],
                                            tree["split_conditions"]):
            if left != -1:
                found.setdefault(feature, []).append(float(np.float32(condition)))
    return {feature: sorted(set(values)) for feature, values in found.items()}


def make_rows(case_name, signature, booster_columns, thresholds):
    """booster_columns[j]: the signature column bound to booster feature j."""
    rng = np.random.default_rng(int(hashlib.sha256(case_name.encode()).hexdigest()[:8], 16))
    names = [c["name"] for c in signature]
    types = {c["name"]: c["type"] for c in signature}
    feature_of = {column: j for j, column in enumerate(booster_columns)}

    def value(name):
        if types[name] == "long":
            return int(rng.integers(0, 8))
        return round(float(rng.normal(scale=1.3)), 3)

    def complete():
        return {name: value(name) for name in names}

    def threshold(name, below):
        if types[name] == "long":
            return int(rng.integers(0, 8))
        options = thresholds.get(feature_of[name])
        if not options:
            return value(name)
        t = np.float32(options[int(rng.integers(0, len(options)))])
        if below:  # the largest float32 below the split: goes left where t goes right
            t = np.nextafter(t, np.float32(-np.inf))
        return float(t)

    rows = [complete() for _ in range(6)]
    # Integral JSON numbers for double columns.
    rows.append({name: int(rng.integers(-2, 3)) for name in names})
    # Exactly at split thresholds (x >= condition goes right), and just below.
    rows.append({name: threshold(name, below=False) for name in names})
    rows.append({name: threshold(name, below=True) for name in names})
    # Large magnitudes.
    rows.append({name: (int(rng.integers(100, 200)) if types[name] == "long"
                        else float(rng.choice([1e6, -1e6, 12345.678, -3.5e7]))) for name in names})
    # One missing value in each form, in the columns trained with NaN.
    row = complete(); row["x1"] = None; rows.append(row)
    row = complete(); del row["x3"]; rows.append(row)
    row = complete(); row["x0"] = "NaN"; rows.append(row)
    row = complete(); row["x1"] = None; del row["x3"]; row["x0"] = "NaN"; rows.append(row)
    rows.append({name: None for name in names})
    rows.append({})
    rows.append({name: "NaN" for name in names})
    rows.append({name: value(name) for name in names if name in ("x2", "x4")})
    row = complete(); row["x2"] = None; row["x4"] = "NaN"; rows.append(row)
    row = complete(); row["x0"] = -0.0; row["x4"] = 0; del row["x1"]; rows.append(row)
    assert len(rows) == ROWS_PER_CASE
    # Keys in signature order, so the JSON reads naturally.
    return [{name: row[name] for name in names if name in row} for row in rows]


def to_matrix(rows, booster_columns):
    matrix = np.full((len(rows), len(booster_columns)), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        for j, column in enumerate(booster_columns):
            v = row.get(column)
            if v is not None and v != "NaN":
                matrix[i, j] = np.float32(v)
    return matrix


# ----------------------------------------------------------------------------
# Expected values from the reloaded file


def load_like_mlflow(model_class, path):
    # mlflow.xgboost._load_model: _get_class_from_string(model_class)(); model.load_model(path)
    model = LOADERS[model_class]()
    model.load_model(path)
    return model


def booster_of(model):
    return model if isinstance(model, xgb.Booster) else model.get_booster()


def predict(model, objective, matrix, end):
    """(probability rows, labels, margin rows) using trees [0, end)."""
    if isinstance(model, xgb.Booster):
        dm = xgb.DMatrix(matrix, missing=np.nan, feature_names=model.feature_names,
                         feature_types=model.feature_types)
        prob = model.predict(dm, iteration_range=(0, end))
        margin = model.predict(dm, output_margin=True, iteration_range=(0, end))
        if objective == "binary:logistic":
            labels = [int(p > 0.5) for p in prob]
        elif objective == "multi:softprob":
            labels = [int(np.argmax(p)) for p in prob]
        else:
            labels = [None] * len(matrix)
    elif isinstance(model, xgb.XGBClassifier):
        proba = model.predict_proba(matrix, iteration_range=(0, end))
        prob = proba[:, 1] if objective == "binary:logistic" else proba
        labels = [int(v) for v in model.predict(matrix, iteration_range=(0, end))]
        margin = model.predict(matrix, output_margin=True, iteration_range=(0, end))
    else:
        prob = model.predict(matrix, iteration_range=(0, end))
        labels = [None] * len(matrix)
        margin = model.predict(matrix, output_margin=True, iteration_range=(0, end))
    as_rows = lambda a: [[float(v) for v in np.atleast_1d(r)] for r in np.asarray(a, dtype=np.float32)]
    return as_rows(prob), labels, as_rows(margin)


def max_diff(a, b):
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def best_iteration_attr(booster):
    value = booster.attr("best_iteration")
    return None if value is None else int(value)


# ----------------------------------------------------------------------------
# Cases


def case_specs():
    specs = []
    for fmt in FORMATS:
        specs += [
            dict(name=f"booster-binary-{fmt}", kind="booster", objective="binary:logistic", fmt=fmt),
            dict(name=f"booster-regression-{fmt}", kind="booster", objective="reg:squarederror", fmt=fmt),
            dict(name=f"booster-multiclass-{fmt}", kind="booster", objective="multi:softprob", fmt=fmt),
            dict(name=f"booster-binary-{fmt}-earlystop", kind="booster", objective="binary:logistic", fmt=fmt,
                 early=True),
            dict(name=f"classifier-binary-{fmt}", kind="classifier", objective="binary:logistic", fmt=fmt),
            dict(name=f"classifier-multiclass-{fmt}", kind="classifier", objective="multi:softprob", fmt=fmt),
            dict(name=f"regressor-{fmt}", kind="regressor", objective="reg:squarederror", fmt=fmt),
            dict(name=f"classifier-binary-{fmt}-earlystop", kind="classifier", objective="binary:logistic",
                 fmt=fmt, early=True),
            dict(name=f"regressor-{fmt}-earlystop", kind="regressor", objective="reg:squarederror", fmt=fmt,
                 early=True),
        ]
    reversed_signature = list(reversed(FEATURES))
    specs += [
        # Booster stores x0..x4; MLflow inferred the signature from a DataFrame
        # with the columns reversed. (MLflow's own pyfunc would fail on these:
        # it orders the DataFrame as the signature does, and xgboost 1.7's
        # validate_features raises "feature_names mismatch". The expected
        # values bind by name, as predstore does.)
        dict(name="booster-binary-json-reordered-signature", kind="booster", objective="binary:logistic",
             fmt="json", order=reversed_signature),
        dict(name="classifier-binary-ubj-reordered-signature", kind="classifier", objective="binary:logistic",
             fmt="ubj", order=reversed_signature),
        # The legacy binary format keeps no feature names: the only binding
        # left is by position, signature column i to feature i.
        dict(name="booster-binary-xgb-reordered-signature", kind="booster", objective="binary:logistic",
             fmt="xgb", order=reversed_signature),
        dict(name="classifier-binary-json-optional-columns", kind="classifier", objective="binary:logistic",
             fmt="json", optional=["x3", "x4"]),
        dict(name="booster-regression-ubj-optional-columns", kind="booster", objective="reg:squarederror",
             fmt="ubj", optional=["x1", "x3"]),
        # x2 holds integers: the signature says long, the booster stores int.
        dict(name="regressor-json-long-column", kind="regressor", objective="reg:squarederror", fmt="json",
             long_column=2),
        dict(name="classifier-binary-xgb-long-column", kind="classifier", objective="binary:logistic",
             fmt="xgb", long_column=2),
    ]
    for spec in specs:
        spec.setdefault("early", False)
        spec.setdefault("order", FEATURES)
        spec.setdefault("optional", [])
        spec.setdefault("long_column", None)
    return specs


def build_case(out_dir, spec, trained, facts):
    name, kind, objective, fmt = spec["name"], spec["kind"], spec["objective"], spec["fmt"]
    key = (kind, objective, spec["early"], spec["long_column"])
    if key not in trained:
        trained[key] = train(kind, objective, spec["early"], spec["long_column"])
    model, trained_booster = trained[key]
    model_class = CLASS_PATHS[kind]
    signature = [{"type": "long" if spec["long_column"] is not None and column == FEATURES[spec["long_column"]]
                  else "double", "name": column, "required": column not in spec["optional"]}
                 for column in spec["order"]]

    model_dir = os.path.join(out_dir, name)
    if os.path.exists(model_dir):
        shutil.rmtree(model_dir)
    # The signature's outputs: what pyfunc predict returns on the training
    # columns, a numpy array, inferred as a tensor spec (shape -1 first).
    probe = np.zeros((2, len(FEATURES)), dtype=np.float32)
    if kind == "booster":
        out = trained_booster.predict(xgb.DMatrix(probe, feature_names=trained_booster.feature_names,
                                                  feature_types=trained_booster.feature_types))
    else:
        out = model.predict(probe)
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": out.dtype.name, "shape": [-1] + list(out.shape[1:])}}]
    write_mlflow_model(model_dir, name, model, fmt, model_class, signature, outputs)
    path = os.path.join(model_dir, f"model.{fmt}")

    loaded = load_like_mlflow(model_class, path)
    booster = booster_of(loaded)
    stored_names = booster.feature_names
    stored_types = booster.feature_types
    best = best_iteration_attr(booster)
    rounds = booster.num_boosted_rounds()
    check(best == best_iteration_attr(trained_booster),
          f"{name}: best_iteration {best} after reload, {best_iteration_attr(trained_booster)} when trained")
    with open(path, "rb") as f:
        header = f.read(4)
    check(header == {"json": b'{"le', "ubj": b"{L\0\0", "xgb": b"binf"}[fmt],
          f"{name}: model.{fmt} starts {header!r}, not the {fmt} format")
    if fmt == "json":
        with open(path) as f:
            attributes = json.load(f)["learner"]["attributes"]
        check(attributes.get("best_iteration") == (None if best is None else str(best)),
              f"{name}: learner.attributes {attributes}")
    with open(os.path.join(model_dir, "MLmodel")) as f:
        reread = yaml.safe_load(f)
    check(json.loads(reread["signature"]["inputs"]) == signature
          and reread["flavors"]["xgboost"]["model_class"] == model_class, f"{name}: MLmodel does not read back")
    raw = xgb.Booster()
    raw.load_model(path)  # what the C API sees: XGBoosterLoadModel, no scikit-learn wrapper
    facts.append(dict(name=name, header=header, best=best, names=stored_names, types=stored_types,
                      attributes=sorted(raw.attributes()), rounds=rounds))

    sig_names = [c["name"] for c in signature]
    if stored_names is not None and sorted(stored_names) == sorted(sig_names):
        binding, booster_columns = "name", list(stored_names)
    else:
        binding, booster_columns = "position", sig_names
    check(len(booster_columns) == booster.num_features(), f"{name}: feature count")

    rows = make_rows(name, signature, booster_columns, split_thresholds(trained_booster))
    matrix = to_matrix(rows, booster_columns)
    end = best + 1 if best is not None else rounds
    prob, labels, margin = predict(loaded, objective, matrix, end)

    # Checks.
    again = load_like_mlflow(model_class, path)
    prob2, labels2, margin2 = predict(again, objective, matrix, end)
    check(prob == prob2 and labels == labels2 and margin == margin2, f"{name}: reloading is not deterministic")
    if kind != "booster":
        # The scikit-learn wrapper is the Booster call with iteration_range (0, best_iteration + 1).
        raw = xgb.Booster()
        raw.load_model(path)
        bprob, _, bmargin = predict(raw, objective, matrix, end)
        check(max_diff(prob, bprob) <= TOL
              and max_diff(margin, bmargin) <= TOL, f"{name}: sklearn and Booster predictions differ")
        # The expected values pass iteration_range explicitly; pyfunc does not.
        default = loaded.predict(matrix)
        if kind == "classifier":
            check(labels == [int(v) for v in default], f"{name}: predict's default trees differ")
        else:
            check(max_diff(prob, [[float(v)] for v in default]) <= TOL, f"{name}: predict's default trees differ")
    zero = np.nan_to_num(matrix, nan=0.0)
    zprob, _, _ = predict(loaded, objective, zero, end)
    missing_rows = [i for i in range(len(rows)) if np.isnan(matrix[i]).any()]
    check(any(max_diff([prob[i]], [zprob[i]]) > 1e-4 for i in missing_rows),
          f"{name}: NaN predicts like 0 in every row; no default direction exercised")

    all_trees = None
    if end < rounds:
        all_trees = predict(loaded, objective, matrix, rounds)
        check(spec["early"], f"{name}: best_iteration {best} before the last of {rounds} rounds without early stopping")
        check(max_diff(prob, all_trees[0]) > 1e-3, f"{name}: all trees predict like best_iteration")
    if spec["early"]:
        check(best is not None and 1 <= best <= rounds - 4,
              f"{name}: early stopping kept best_iteration {best} of {rounds} rounds; want it well before the end")

    if spec["order"] != FEATURES:
        # Binding the other way must matter, or the case tests nothing.
        other = sig_names if binding == "name" else FEATURES
        oprob, _, _ = predict(loaded, objective, to_matrix(rows, other), end)
        check(max_diff(prob, oprob) > 1e-3, f"{name}: name and position bindings predict alike")

    case_rows = []
    for i, row in enumerate(rows):
        missing = [c["name"] for c in signature
                   if c["required"] and (c["name"] not in row or row[c["name"]] is None or row[c["name"]] == "NaN")]
        entry = {"features": row, "missing_required": missing, "probability": prob[i], "label": labels[i],
                 "margin": margin[i]}
        if all_trees is not None:
            entry["probability_all_trees"] = all_trees[0][i]
            entry["label_all_trees"] = all_trees[1][i]
            entry["margin_all_trees"] = all_trees[2][i]
        case_rows.append(entry)

    num_class = 3 if objective == "multi:softprob" else None
    return {
        "name": name,
        "model_dir": name,
        "model_file": f"model.{fmt}",
        "model_class": model_class,
        "objective": objective,
        "num_class": num_class,
        "format": fmt,
        "early_stopping": spec["early"],
        "best_iteration": best,
        "num_rounds": rounds,
        "n_estimators": (EARLY if spec["early"] else PLAIN)["rounds"],
        "iteration_end": end,
        "booster_feature_names": stored_names,
        "booster_feature_types": stored_types,
        "feature_binding": binding,
        "booster_input_order": booster_columns,
        "signature": signature,
        "pyfunc_output": pyfunc_output(kind, objective),
        "pyfunc_uses_best_iteration": kind != "booster",
        "rows": case_rows,
    }


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    started = time.monotonic()
    out_dir = os.path.abspath(argv[1])
    os.makedirs(out_dir, exist_ok=True)
    trained, facts, cases = {}, [], []
    try:
        for spec in case_specs():
            cases.append(build_case(out_dir, spec, trained, facts))
        cross_format_check(out_dir, cases)
    except CheckFailed as e:
        print(f"make_fidelity_models: check failed: {e}", file=sys.stderr)
        return 1
    text = json.dumps(cases, indent=1, allow_nan=False)
    with open(os.path.join(out_dir, "cases.json.tmp"), "w") as out:
        out.write(text + "\n")
    os.replace(os.path.join(out_dir, "cases.json.tmp"), os.path.join(out_dir, "cases.json"))
    for fact in facts:
        print(f"{fact['name']:45} header={fact['header']!r:12} rounds={fact['rounds']} "
              f"best_iteration={fact['best']} attributes={fact['attributes']} "
              f"feature_names={fact['names']} feature_types={fact['types']}")
    print(f"make_fidelity_models: {len(cases)} cases, {sum(len(c['rows']) for c in cases)} rows in "
          f"{time.monotonic() - started:.2f}s -> {out_dir}")
    return 0


def cross_format_check(out_dir, cases):
    """The same trained model saved as json, ubj and xgb predicts alike on the
    same inputs (those of the json case), bound the same way."""
    by_name = {c["name"]: c for c in cases}
    for case in cases:
        if case["format"] != "json":
            continue
        for fmt in ("ubj", "xgb"):
            twin = by_name.get(case["name"].replace("-json", f"-{fmt}"))
            if twin is None or twin["signature"] != case["signature"]:
                continue
            if twin["booster_input_order"] != case["booster_input_order"]:
                continue
            model = load_like_mlflow(twin["model_class"], os.path.join(out_dir, twin["model_dir"], twin["model_file"]))
            rows = [r["features"] for r in case["rows"]]
            prob, labels, margin = predict(model, twin["objective"], to_matrix(rows, twin["booster_input_order"]),
                                           twin["iteration_end"])
            check(max_diff(prob, [r["probability"] for r in case["rows"]]) <= TOL
                  and max_diff(margin, [r["margin"] for r in case["rows"]]) <= TOL
                  and labels == [r["label"] for r in case["rows"]],
                  f"{twin['name']} predicts unlike {case['name']} on the same rows")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
