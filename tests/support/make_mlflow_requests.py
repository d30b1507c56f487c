#!/usr/bin/python3
"""Writes MLflow scoring requests, and the exact responses MLflow's scoring
server gives them, for the models make_fidelity_models.py wrote.

Usage: /usr/bin/python3 tests/support/make_mlflow_requests.py FIXTURES_DIR

Reads FIXTURES_DIR/cases.json and writes FIXTURES_DIR/requests.json, a list
with one object per case:
  name, accepted: {form: body text}, expected (the response body), refused:
  [{body, feature}] (one request per row MLflow refuses, and the feature it
  names).

The bodies follow mlflow/pyfunc/scoring_server/__init__.py and the request
examples of MLflow's "Deploy MLflow models" documentation:
  dataframe_split    {"dataframe_split": {"columns": [...], "data": [[...]]}}
                     (pandas' to_dict(orient="split") shape, with "index")
  dataframe_records  {"dataframe_records": [{column: value}, ...]}
  instances          {"instances": [{column: value}, ...]}
  inputs             {"inputs": {column: [values...]}}
  instances_lists    {"instances": [[values in the booster's order], ...]}
  csv                text/csv as pandas.DataFrame.to_csv(index=False) writes
                     it, with an empty field for a missing value
A missing value is written as json.dumps writes a float NaN (the literal
NaN, which Python's json module, and so MLflow's server, reads), or as null.

The expected response is what the scoring server returns:
json.dumps({"predictions": <pyfunc predict output>.tolist()}) with the
output that make_fidelity_models.py computed with XGBoost (labels as ints,
the other outputs as the float32 values widened to Python floats).
"""

import json
import math
import os
import sys

FORMS = ["dataframe_split", "dataframe_records", "instances", "inputs", "instances_lists", "csv"]


def expected_output(case, row):
    field = "label" if case["pyfunc_output"] == "label" else "probability"
    all_trees = not case["pyfunc_uses_best_iteration"]
    value = row[field + "_all_trees"] if all_trees and (field + "_all_trees") in row else row[field]
    if field == "label":
        return int(value)
    return value[0] if len(value) == 1 else value


def refused_feature(case, row):
    """The feature MLflow refuses the row for, or None: a required column
    that is absent, or a missing value in a column that is not float or
    double (its schema enforcement refuses both)."""
    for spec in case["signature"]:
        absent = spec["name"] not in row["features"]
        if absent and spec.get("required", True):
            return spec["name"]
        value = row["features"].get(spec["name"], 0)
        if (value is None or value == "NaN") and spec["type"] not in ("double", "float"):
            return spec["name"]
    return None


def value_of(value, nan_as_null):
    if value == "NaN":
        return None if nan_as_null else math.nan
    return value


def csv_field(value):
    if value is None or value == "NaN":
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def bodies(case, rows):
    columns = [spec["name"] for spec in case["signature"]]
    order = case["booster_input_order"]
    records = [{k: value_of(v, False) for k, v in row["features"].items()} for row in rows]
    split_data = [[value_of(row["features"].get(c), True) for c in columns] for row in rows]
    out = {
        "dataframe_split": json.dumps(
            {"dataframe_split": {"index": list(range(len(rows))), "columns": columns, "data": split_data}}),
        "dataframe_records": json.dumps({"dataframe_records": records}),
        "instances": json.dumps({"instances": records}),
        "inputs": json.dumps({"inputs": {c: [value_of(row["features"].get(c), False) for row in rows]
                                         for c in columns}}),
        "instances_lists": json.dumps(
            {"instances": [[value_of(row["features"].get(c), True) for c in order] for row in rows]}),
        "csv": ",".join(columns) + "\n" + "".join(
            ",".join(csv_field(row["features"].get(c)) for c in columns) + "\n" for row in rows),
    }
    return out


def main():
    fixtures = sys.argv[1]
    with open(os.path.join(fixtures, "cases.json")) as f:
        cases = json.load(f)
    out = []
    for case in cases:
        accepted = [row for row in case["rows"] if refused_feature(case, row) is None]
        refused = [row for row in case["rows"] if refused_feature(case, row) is not None]
        expected = json.dumps({"predictions": [expected_output(case, row) for row in accepted]})
        out.append({
            "name": case["name"],
            "accepted": bodies(case, accepted),
            "expected": expected,
            "refused": [{"body": json.dumps({"dataframe_records": [
                {k: value_of(v, False) for k, v in row["features"].items()}]}),
                         "feature": refused_feature(case, row)} for row in refused],
        })
    with open(os.path.join(fixtures, "requests.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
