#include "server/http_front_end.h"

#include <memory>
#include <string>
#include <utility>

#include "core/base/strings.h"
#include "google/protobuf/util/json_util.h"
#include "predstore/v1/predstore.pb.h"
#include "server/wire.h"

namespace predstore {
namespace {

constexpr char kJson[] = "application/json";

HttpResponse ErrorResponse(const absl::Status& status) {
  HttpResponse response = HttpResponse::JsonError(HttpStatusOf(status.code()), FromAbsl(status.message()));
  if (status.code() == absl::StatusCode::kUnavailable || status.code() == absl::StatusCode::kResourceExhausted) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
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
      status.ok() ? lookups.Table(request->table()) : absl::StatusOr<std::shared_ptr<const TableSnapshot>>(status);
  if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
  absl::StatusOr<LookupQuery> query = LookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return responder.Respond(ErrorResponse(query.status()));
  lookups.Lookup(*std::move(query), [request, responder = std::move(responder)](
                                        absl::StatusOr<LookupAnswers> answers) mutable {
    v1::LookupResponse response;
    absl::Status converted = answers.ok() ? LookupResponseToWire(*answers, &response) : answers.status();
    Reply(responder, converted, response);
  });
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
      status.ok() ? lookups.Table(request->table()) : absl::StatusOr<std::shared_ptr<const TableSnapshot>>(status);
  if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
  absl::StatusOr<BatchLookupQuery> query = columnar ? ColumnarQueryFromWire(*request, *std::move(snapshot))
                                                    : BatchLookupQueryFromWire(*request, *std::move(snapshot));
  if (!query.ok()) return responder.Respond(ErrorResponse(query.status()));
  lookups.BatchLookup(*std::move(query), [request, columnar, responder = std::move(responder)](
                                             absl::StatusOr<LookupAnswers> answers) mutable {
    v1::BatchLookupResponse response;
    absl::Status converted = !answers.ok() ? answers.status()
                             : columnar    ? ColumnarResponseToWire(*answers, &response)
                                           : BatchLookupResponseToWire(*answers, &response);
    Reply(responder, converted, response);
  });
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

void AddHttpRoutes(const LookupService* lookups, std::function<bool()> ready, HttpServer* http) {
  http->Handle("GET", "/ping", [](const HttpRequest&, HttpResponder responder) {
    responder.Respond(JsonResponse(std::string(1, '\n')));  // as MLflow's scoring server answers
  });
  http->Handle("GET", "/health/live", [](const HttpRequest&, HttpResponder responder) {
    responder.Respond(JsonResponse(R"({"status":"live"})"));
  });
  auto readiness = [ready](const HttpRequest&, HttpResponder responder) {
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
  http->Handle("GET", "/v1/tables", [lookups](const HttpRequest&, HttpResponder responder) {
    v1::ListTablesResponse response;
    for (const auto& snapshot : lookups->Tables()) TableInfoToWire(*snapshot, response.add_tables());
    Reply(responder, absl::OkStatus(), response);
  });
  http->Handle("GET", "/v1/tables/*", [lookups](const HttpRequest& request, HttpResponder responder) {
    const std::string_view table = request.path().substr(std::string_view("/v1/tables/").size());
    auto snapshot = lookups->Table(table);
    if (!snapshot.ok()) return responder.Respond(ErrorResponse(snapshot.status()));
    v1::TableInfo info;
    TableInfoToWire(**snapshot, &info);
    Reply(responder, absl::OkStatus(), info);
  });
  http->Handle("POST", "/v1/tables/*", [lookups](const HttpRequest& request, HttpResponder responder) {
    const std::string_view rest = request.path().substr(std::string_view("/v1/tables/").size());
    const size_t colon = rest.rfind(':');
    const std::string_view table = rest.substr(0, colon);
    const std::string_view verb = colon == std::string_view::npos ? "" : rest.substr(colon + 1);
    if (verb == "lookup") return Lookup(*lookups, table, request, std::move(responder));
    if (verb == "batchLookup") return BatchLookup(*lookups, table, request, std::move(responder));
    responder.Respond(HttpResponse::JsonError(
        404, StrCat("no method \"", verb, "\" on tables: POST /v1/tables/<table>:lookup or :batchLookup")));
  });
}

}  // namespace predstore
