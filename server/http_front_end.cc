#include "server/http_front_end.h"

#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/base/strings.h"
#include "core/model/model_registry.h"
#include "core/serve/mlflow_invocation.h"
#include "core/serve/mlflow_protocol.h"
#include "google/protobuf/util/json_util.h"
#include "predstore/v1/predstore.pb.h"
#include "server/scan_pages.h"
#include "server/wire.h"

namespace predstore {
namespace {

constexpr char kJson[] = "application/json";

// `response` for the error `status`, asking the client to retry later when
// the status says the server is busy.
HttpResponse WithRetryAfter(const absl::Status& status, HttpResponse response) {
  if (status.code() == absl::StatusCode::kUnavailable || status.code() == absl::StatusCode::kResourceExhausted) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  return WithRetryAfter(status, HttpResponse::JsonError(HttpStatusOf(status.code()), FromAbsl(status.message())));
}

HttpResponse JsonResponse(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.content_type = kJson;
  response.body = std::move(body);
  return response;
}

// `message` as JSON: proto field names in lowerCamelCase, fields at their
// default value printed too (found: false, not left out).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return absl::InternalError(StrCat("cannot write JSON: ", status.ToString()));
  return json;
}

// Parses the request body into `message`: unknown fields are an error
// naming them, as in protobuf's own JSON parser.
absl::Status FromJson(std::string_view body, google::protobuf::Message* message) {
  if (body.empty()) return absl::InvalidArgumentError("the request needs a JSON body");
  auto status = google::protobuf::util::JsonStringToMessage(std::string(body), message);
  if (!status.ok()) return absl::InvalidArgumentError(StrCat("invalid JSON request: ", status.message().as_string()));
  return absl::OkStatus();
}

// Answers with `message` (converted to JSON) or the error.
void Reply(HttpResponder& responder, const absl::Status& status, const google::protobuf::Message& message) {
  if (!status.ok()) return responder.Respond(ErrorResponse(status));
  absl::StatusOr<std::string> json = ToJson(message);
  responder.Respond(json.ok() ? JsonResponse(*std::move(json)) : ErrorResponse(json.status()));
}

// The table a request names in its path; a body naming another is refused.
template <typename Request>
absl::Status TakeTable(std::string_view table, Request* request) {
  if (!request->table().empty() && request->table() != table) {
    return absl::InvalidArgumentError(StrCat("table: the body names \"", request->table(), "\" but the path \"",
                                             table, "\""));
  }
  request->set_table(std::string(table));
  return absl::OkStatus();
}

void Lookup(const LookupService& lookups, std::string_view table, const HttpRequest& http, HttpResponder responder) {
  auto request = std::make_shared<v1::LookupRequest>();
  absl::Status status = FromJson(http.body(), request.get());
  if (status.ok()) status = TakeTable(table, request.get());
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> snapshot =
      status.ok() ? lookups.Table(request->table(), request->min_version())
                  : absl::StatusOr<std::shared_ptr<const TableSnapshot>>(status);
  if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
  absl::StatusOr<LookupQuery> query = LookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return responder.Respond(ErrorResponse(query.status()));
  auto answer = [request, responder = std::move(responder)](absl::StatusOr<LookupAnswers> answers) mutable {
    v1::LookupResponse response;
    absl::Status converted = answers.ok() ? LookupResponseToWire(*answers, &response) : answers.status();
    Reply(responder, converted, response);
  };
  lookups.AdmitLookup(*std::move(query), std::move(answer));
}

void BatchLookup(const LookupService& lookups, std::string_view table, const HttpRequest& http,
                 HttpResponder responder) {
  auto request = std::make_shared<v1::BatchLookupRequest>();
  absl::Status status = FromJson(http.body(), request.get());
  if (status.ok()) status = TakeTable(table, request.get());
  const bool columnar = request->key_values_size() > 0;
  if (status.ok()) {
    status = columnar ? lookups.CheckBatchSize("key_values", ColumnarKeyCount(*request))
                      : lookups.CheckBatchSize("keys", static_cast<size_t>(request->keys_size()));
  }
  absl::StatusOr<std::shared_ptr<const TableSnapshot>> snapshot =
      status.ok() ? lookups.Table(request->table(), request->min_version())
                  : absl::StatusOr<std::shared_ptr<const TableSnapshot>>(status);
  if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
  absl::StatusOr<BatchLookupQuery> query = columnar ? ColumnarQueryFromWire(*request, *std::move(snapshot))
                                                    : BatchLookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return responder.Respond(ErrorResponse(query.status()));
  auto answer = [request, columnar, responder = std::move(responder)](absl::StatusOr<LookupAnswers> answers) mutable {
    v1::BatchLookupResponse response;
    absl::Status converted = !answers.ok() ? answers.status()
                             : columnar    ? ColumnarResponseToWire(*answers, &response)
                                           : BatchLookupResponseToWire(*answers, &response);
    Reply(responder, converted, response);
  };
  lookups.AdmitBatchLookup(*std::move(query), std::move(answer));
}

// POST /v1/tables/<table>:scan: a ScanRequest; the answer is JSON Lines
// (application/x-ndjson), one ScanResponse per line as the gRPC stream
// sends them, each read from the store once the previous one is written.
// An error before the first line is an error response; one after it is a
// last line {"error":{"code":...,"message":...}}.
void Scan(const LookupService& lookups, StreamSlots* streams, std::string_view table, const HttpRequest& http,
          HttpResponder responder) {
  absl::StatusOr<StreamSlots::Slot> slot = streams->Acquire();
  if (!slot.ok()) return responder.Respond(ErrorResponse(slot.status()));
  v1::ScanRequest request;
  absl::Status status = FromJson(http.body(), &request);
  if (status.ok()) status = TakeTable(table, &request);
  absl::StatusOr<std::unique_ptr<ScanPages>> started =
      status.ok() ? ScanPages::Start(&lookups, request, request.min_version()) : absl::StatusOr<std::unique_ptr<ScanPages>>(status);
  if (!started.ok()) return responder.Respond(ErrorResponse(started.status()));
  std::shared_ptr<ScanPages> pages = *std::move(started);
  // The first line is read before answering, so that a scan that fails at
  // once gets its status.
  v1::ScanResponse message;
  bool last = false;
  status = pages->Next(&message, &last);
  absl::StatusOr<std::string> first = status.ok() ? ToJson(message) : absl::StatusOr<std::string>(status);
  if (!first.ok()) return responder.Respond(ErrorResponse(first.status()));
  HttpResponse response;
  response.content_type = "application/x-ndjson";
  // The slot is held as long as the response: until the last piece is
  // written or the connection closes.
  response.next_piece = [pages, last, first = *std::move(first) + "\n",
                         held = std::make_shared<StreamSlots::Slot>(*std::move(slot))](std::string* piece) mutable {
    if (!first.empty()) {
      *piece = std::move(first);
      first.clear();
      return !last;
    }
    v1::ScanResponse next;
    const absl::Status paged = pages->Next(&next, &last);
    absl::StatusOr<std::string> json = paged.ok() ? ToJson(next) : absl::StatusOr<std::string>(paged);
    if (!json.ok()) {
      const absl::Status& error = json.status();
      *piece = HttpResponse::JsonError(HttpStatusOf(error.code()), FromAbsl(error.message())).body + "\n";
      return false;
    }
    *piece = *std::move(json) + "\n";
    return !last;
  };
  responder.Respond(std::move(response));
}

HttpResponse MlflowError(const absl::Status& status) {
  return WithRetryAfter(status, JsonResponse(MlflowErrorJson(status), HttpStatusOf(status.code())));
}

// The body format of a Content-Type, as MLflow's scoring server accepts it:
// application/json or text/csv, with no parameter but charset=utf-8.
// Anything else is 415 with MLflow's plain-text explanation.
std::optional<MlflowBodyFormat> BodyFormat(std::string_view content_type, HttpResponse* refusal) {
  auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  };
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const size_t semicolon = content_type.find(';');
  const std::string mime = lower(trim(content_type.substr(0, semicolon)));
  refusal->status = 415;
  refusal->content_type = "text/plain";
  for (size_t at = semicolon; at != std::string_view::npos;) {
    const size_t next = content_type.find(';', at + 1);
    const std::string_view parameter =
        trim(content_type.substr(at + 1, next == std::string_view::npos ? next : next - at - 1));
    const size_t equals = parameter.find('=');
    const std::string name = lower(trim(parameter.substr(0, equals)));
    std::string value = equals == std::string_view::npos ? "" : lower(trim(parameter.substr(equals + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (name == "charset" && value != "utf-8") {
      refusal->body = "The scoring server only supports UTF-8";
      return std::nullopt;
    }
    if (name != "charset" && !name.empty()) {
      refusal->body = StrCat("Unrecognized content type parameters: ", name, ".");
      return std::nullopt;
    }
    at = next;
  }
  if (mime == "application/json") return MlflowBodyFormat::kJson;
  if (mime == "text/csv") return MlflowBodyFormat::kCsv;
  refusal->body = StrCat("This predictor only supports the following content types: [text/csv, application/json]. "
                         "Got '", content_type, "'.");
  return std::nullopt;
}

void Invoke(const LookupService& lookups, std::string_view model, const HttpRequest& request, HttpResponder responder) {
  HttpResponse refusal;
  const std::optional<MlflowBodyFormat> format = BodyFormat(request.header("Content-Type"), &refusal);
  if (!format) return responder.Respond(std::move(refusal));
  InvokeMlflowModel(lookups, model, *format, request.body(),
                    [responder = std::move(responder)](absl::StatusOr<std::string> json) mutable {
                      responder.Respond(json.ok() ? JsonResponse(*std::move(json)) : MlflowError(json.status()));
                    });
}

// The models:/ URI of a Databricks-style path's <name> and, when given, its
// served model: a version number, a stage, "latest", else an alias.
std::string EndpointModel(std::string_view name, std::optional<std::string_view> served) {
  if (!served) return StrCat("models:/", name, "/Production");
  const std::string by_path = StrCat("models:/", name, "/", *served);
  return ParseModelReference(by_path).ok() ? by_path : StrCat("models:/", name, "@", *served);
}

// A path segment with its %XX escapes decoded (RFC 3986), or
// kInvalidArgument for a '%' not followed by two hex digits.
absl::StatusOr<std::string> PercentDecoded(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out.push_back(segment[i]);
      continue;
    }
    const bool whole = i + 2 < segment.size();
    const int high = whole ? HexDigitValue(segment[i + 1]) : -1;
    const int low = whole ? HexDigitValue(segment[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(StrCat("bad %-escape in the path segment \"", segment, "\""));
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// POST /serving-endpoints/<name>/invocations and
// /serving-endpoints/<name>/served-models/<served>/invocations; both
// segments may be %-escaped (a model named "churn model" is
// /serving-endpoints/churn%20model/invocations).
void InvokeEndpoint(const LookupService& lookups, const HttpRequest& request, HttpResponder responder) {
  constexpr std::string_view kPrefix = "/serving-endpoints/";
  constexpr std::string_view kServed = "/served-models/";
  constexpr std::string_view kInvocations = "/invocations";
  std::string_view rest = request.path().substr(kPrefix.size());
  if (!rest.ends_with(kInvocations)) {
    return responder.Respond(MlflowError(absl::NotFoundError(
        StrCat("no route for POST ", request.path(), ": POST /serving-endpoints/<name>/invocations or "
               "/serving-endpoints/<name>/served-models/<version, stage or alias>/invocations"))));
  }
  rest.remove_suffix(kInvocations.size());
  std::optional<std::string_view> served;
  if (const size_t at = rest.find(kServed); at != std::string_view::npos) {
    served = rest.substr(at + kServed.size());
    rest = rest.substr(0, at);
  }
  auto segment = [](std::string_view text) { return !text.empty() && text.find('/') == std::string_view::npos; };
  if (!segment(rest) || (served && !segment(*served))) {
    return responder.Respond(MlflowError(absl::NotFoundError(
        StrCat("no route for POST ", request.path(), ": the endpoint and served model are single path segments"))));
  }
  absl::StatusOr<std::string> name = PercentDecoded(rest);
  absl::StatusOr<std::string> served_name = served ? PercentDecoded(*served) : absl::StatusOr<std::string>("");
  if (!name.ok() || !served_name.ok()) {
    return responder.Respond(MlflowError(name.ok() ? served_name.status() : name.status()));
  }
  Invoke(lookups, EndpointModel(*name, served ? std::optional<std::string_view>(*served_name) : std::nullopt), request,
         std::move(responder));
}

// `handler` behind the data tokens: a request without an accepted bearer
// token is answered 401 by `refuse` (the route's error shape) and goes no
// further. Without tokens, `handler` itself.
HttpHandler Guarded(const BearerTokens& tokens, HttpResponse (*refuse)(const absl::Status&), HttpHandler handler) {
  if (!tokens.required()) return handler;
  return [tokens, refuse, handler = std::move(handler)](const HttpRequest& request, HttpResponder responder) {
    const std::string_view authorization = request.header("Authorization");
    absl::Status status =
        tokens.Check(authorization.empty() ? std::nullopt : std::optional(authorization), "requests");
    if (status.ok()) return handler(request, std::move(responder));
    HttpResponse response = refuse(status);
    response.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="predstore")");
    responder.Respond(std::move(response));
  };
}

}  // namespace

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kCancelled: return 499;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

void AddHttpRoutes(const LookupService* lookups, HttpRouteOptions options, HttpServer* http) {
  http->Handle("GET", "/ping", [](const HttpRequest&, HttpResponder responder) {
    responder.Respond(JsonResponse(std::string(1, '\n')));  // as MLflow's scoring server answers
  });
  http->Handle("GET", "/health/live", [](const HttpRequest&, HttpResponder responder) {
    responder.Respond(JsonResponse(R"({"status":"live"})"));
  });
  auto readiness = [ready = options.ready](const HttpRequest&, HttpResponder responder) {
    if (ready()) return responder.Respond(JsonResponse(R"({"status":"ready"})"));
    HttpResponse response = JsonResponse(R"({"status":"not ready"})", 503);
    response.headers.emplace_back("Retry-After", "1");
    responder.Respond(std::move(response));
  };
  http->Handle("GET", "/health/ready", readiness);
  http->Handle("GET", "/health", readiness);
  http->Handle("GET", "/version", [](const HttpRequest&, HttpResponder responder) {
    responder.Respond(JsonResponse(StrCat(R"({"version":")", PREDSTORE_VERSION, R"("})")));
  });
  const BearerTokens& tokens = options.data_tokens;
  http->Handle("POST", "/invocations",
               Guarded(tokens, MlflowError,
                       [lookups, model = options.default_model](const HttpRequest& request, HttpResponder responder) {
                         if (model.empty()) {
                           return responder.Respond(MlflowError(absl::NotFoundError(
                               "this server has no default model for /invocations: start it with "
                               "--http_default_model=models:/<name>/<stage>, or POST "
                               "/serving-endpoints/<name>/invocations")));
                         }
                         Invoke(*lookups, model, request, std::move(responder));
                       }));
  http->Handle("POST", "/serving-endpoints/*",
               Guarded(tokens, MlflowError, [lookups](const HttpRequest& request, HttpResponder responder) {
                 InvokeEndpoint(*lookups, request, std::move(responder));
               }));
  if (const MetricsRegistry* metrics = options.metrics) {
    http->Handle("GET", "/metrics", [metrics](const HttpRequest&, HttpResponder responder) {
      HttpResponse response;
      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      response.body = metrics->Exposition();
      responder.Respond(std::move(response));
    });
  }
  http->Handle("GET", "/v1/tables", Guarded(tokens, ErrorResponse, [lookups](const HttpRequest&, HttpResponder responder) {
    v1::ListTablesResponse response;
    for (const auto& snapshot : lookups->Tables()) TableInfoToWire(*snapshot, response.add_tables());
    Reply(responder, absl::OkStatus(), response);
  }));
  http->Handle("GET", "/v1/tables/*", Guarded(tokens, ErrorResponse, [lookups](const HttpRequest& request,
                                                                              HttpResponder responder) {
    const std::string_view table = request.path().substr(std::string_view("/v1/tables/").size());
    auto snapshot = lookups->Table(table);
    if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
    v1::TableInfo info;
    TableInfoToWire(**snapshot, &info);
    Reply(responder, absl::OkStatus(), info);
  }));
  http->Handle("POST", "/v1/tables/*", Guarded(tokens, ErrorResponse, [lookups, streams = options.streams](const HttpRequest& request,
                                                                               HttpResponder responder) {
    const std::string_view rest = request.path().substr(std::string_view("/v1/tables/").size());
    const size_t colon = rest.rfind(':');
    const std::string_view table = rest.substr(0, colon);
    const std::string_view verb = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    if (verb == "lookup") return Lookup(*lookups, table, request, std::move(responder));
    if (verb == "batchLookup") return BatchLookup(*lookups, table, request, std::move(responder));
    if (verb == "scan") return Scan(*lookups, streams, table, request, std::move(responder));
    responder.Respond(HttpResponse::JsonError(
        404, StrCat("no method \"", verb, "\" on tables: POST /v1/tables/<table>:lookup, :batchLookup or :scan")));
  }));
}

}  // namespace predstore
