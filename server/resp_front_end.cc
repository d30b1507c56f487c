#include "server/resp_front_end.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/json_text.h"
#include "core/base/strings.h"
#include "server/resp_protocol.h"

namespace predstore {
namespace {

using Args = std::span<const std::string_view>;

// The version of Redis whose commands and replies this front end follows,
// reported by HELLO and INFO for clients that check it.
constexpr std::string_view kRedisVersion = "7.0.0";

// Commands that would change data, answered with kReadOnly.
constexpr std::string_view kWriteCommands[] = {
    "SET",     "SETNX",   "SETEX",     "PSETEX",   "MSET",     "MSETNX",  "DEL",         "UNLINK",  "HSET",
    "HSETNX",  "HMSET",   "HDEL",      "HINCRBY",  "HINCRBYFLOAT", "EXPIRE", "PEXPIRE",  "EXPIREAT", "PEXPIREAT",
    "PERSIST", "INCR",    "INCRBY",    "DECR",     "DECRBY",   "INCRBYFLOAT", "APPEND",  "GETSET",  "GETDEL",
    "GETEX",   "SETRANGE", "RENAME",   "RENAMENX", "FLUSHDB",  "FLUSHALL", "LPUSH",       "RPUSH",   "SADD",
    "ZADD",    "XADD",    "COPY",      "MOVE",     "RESTORE",  "SWAPDB"};

// The commands served, for COMMAND: name, arity (negative: at least), and
// whether the first argument is a key (then every argument up to `last_key`
// is, -1 meaning the last).
struct CommandInfo {
  std::string_view name;
  int arity;
  int first_key;
  int last_key;
};
constexpr CommandInfo kCommands[] = {
    {"get", 2, 1, 1},        {"mget", -2, 1, -1},   {"exists", -2, 1, -1}, {"hget", 3, 1, 1},
    {"hmget", -3, 1, 1},     {"hgetall", 2, 1, 1},  {"dbsize", 1, 0, 0},   {"ping", -1, 0, 0},
    {"echo", 2, 0, 0},       {"select", 2, 0, 0},   {"quit", -1, 0, 0},    {"hello", -1, 0, 0},
    {"auth", -2, 0, 0},      {"client", -2, 0, 0},  {"info", -1, 0, 0},    {"command", -1, 0, 0},
    {"scan", -2, 0, 0},
};

// SCAN: most keys one call returns (COUNT is clamped to it), and the
// cursors kept between calls (the oldest goes first past the limit; one
// unused for kCursorLife is gone).
constexpr uint64_t kMaxScanCount = 10000;
constexpr size_t kMaxCursors = 10000;
constexpr std::chrono::minutes kCursorLife{10};

std::string Upper(std::string_view text) {
  std::string upper(text);
  absl::AsciiStrToUpper(&upper);
  return upper;
}

std::string ErrorReply(std::string_view text) {
  std::string out;
  AppendRespError(&out, text);
  return out;
}

// The error reply of a failed status: TRYAGAIN for what may pass later,
// ERR for the rest.
std::string StatusReply(const absl::Status& status) {
  const bool retry = status.code() == absl::StatusCode::kUnavailable ||
                     status.code() == absl::StatusCode::kResourceExhausted ||
                     status.code() == absl::StatusCode::kDeadlineExceeded;
  return ErrorReply(StrCat(retry ? "TRYAGAIN " : "ERR ", status.message()));
}

std::string WrongArity(std::string_view command) {
  return ErrorReply(StrCat("ERR wrong number of arguments for '", absl::AsciiStrToLower(ToAbsl(command)), "' command"));
}

// One value column of an answer as text: the shortest text that reads back
// to the same number, strings as stored; nullopt for none (a null, or a
// column a computed answer does not fill).
template <typename Visit>
absl::Status ForEachValueText(const LookupAnswers& answers, const KeyAnswer& answer, Visit&& visit) {
  const auto& columns = answers.table->schema().value_columns();
  if (answer.source == AnswerSource::kComputed) {
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c != answers.output_column) {
        visit(c, std::nullopt);
      } else if (columns[c].type == ColumnType::kFloat) {
        visit(c, std::optional<std::string>(FormatCell(CellView(answer.computed_output))));
      } else {
        visit(c, std::optional<std::string>(FormatCell(CellView(static_cast<double>(answer.computed_output)))));
      }
    }
    return absl::OkStatus();
  }
  return answers.table->value_codec().ForEach(answers.EncodedValues(answer), [&](size_t c, const CellView& cell) {
    if (std::holds_alternative<Null>(cell)) {
      visit(c, std::nullopt);
    } else if (const auto* text = std::get_if<std::string_view>(&cell)) {
      visit(c, std::optional<std::string>(std::string(*text)));
    } else {
      visit(c, std::optional<std::string>(FormatCell(cell)));
    }
  });
}

// GET's reply for one answer: nil on a miss, else the value columns.
absl::Status AppendGetReply(const LookupAnswers& answers, const KeyAnswer& answer, RespValueFormat format,
                            int protocol, std::string* out) {
  if (!answer.found) {
    AppendRespNull(out, protocol);
    return absl::OkStatus();
  }
  const auto& columns = answers.table->schema().value_columns();
  std::string value;
  absl::Status status;
  if (format == RespValueFormat::kText) {
    status = ForEachValueText(answers, answer, [&](size_t c, const std::optional<std::string>& text) {
      if (c > 0) value.push_back(',');
      if (text) value.append(*text);
    });
  } else {
    value.push_back('{');
    status = ForEachValueText(answers, answer, [&](size_t c, const std::optional<std::string>& text) {
      if (c > 0) value.push_back(',');
      value.push_back('"');
      AppendJsonEscaped(&value, columns[c].name);
      value.append("\":");
      if (!text) {
        value.append("null");
      } else if (columns[c].type == ColumnType::kString) {
        value.push_back('"');
        AppendJsonEscaped(&value, *text);
        value.push_back('"');
      } else {
        value.append(*text);
      }
    });
    value.push_back('}');
  }
  if (!status.ok()) return status;
  AppendRespBulk(out, value);
  return absl::OkStatus();
}

// The answer's fields with a value: (column index, text).
absl::StatusOr<std::vector<std::pair<size_t, std::string>>> Fields(const LookupAnswers& answers,
                                                                   const KeyAnswer& answer) {
  std::vector<std::pair<size_t, std::string>> fields;
  if (!answer.found) return fields;
  absl::Status status = ForEachValueText(answers, answer, [&](size_t c, const std::optional<std::string>& text) {
    if (text) fields.emplace_back(c, *text);
  });
  if (!status.ok()) return status;
  return fields;
}

class RespFrontEnd {
 public:
  RespFrontEnd(const LookupService* lookups, RespFrontEndOptions options)
      : lookups_(lookups), options_(std::move(options)), started_(std::chrono::steady_clock::now()) {
    for (const auto& [table, table_options] : options_.tables) {
      if (!table_options.prefix.empty()) table_by_prefix_.emplace(table_options.prefix, table);
    }
  }

  void Handle(RespSession& session, Args args, RespReply reply) const {
    const std::string command = Upper(args[0]);
    if (options_.data_tokens.required() && !session.authenticated && command != "AUTH" && command != "HELLO" &&
        command != "QUIT") {
      return reply.Send(ErrorReply("NOAUTH Authentication required."));
    }
    if (command == "GET") return Get(session, args, std::move(reply));
    if (command == "MGET") return Batch(session, args, /*exists=*/false, std::move(reply));
    if (command == "EXISTS") return Batch(session, args, /*exists=*/true, std::move(reply));
    if (command == "HGET" || command == "HMGET" || command == "HGETALL") {
      return Hash(session, command, args, std::move(reply));
    }
    if (command == "SCAN") return reply.Send(Scan(args));
    reply.Send(Immediate(session, command, args));
  }

 private:
  struct ResolvedKey {
    std::shared_ptr<const TableSnapshot> table;
    std::vector<Cell> cells;
    bool no_fallback = false;
  };

  // The table a key's first part names (its prefix, or its name when it
  // has none), with its fallback setting. `where` starts error messages.
  struct HeadTable {
    std::string head;
    std::shared_ptr<const TableSnapshot> snapshot;
    bool no_fallback = false;
  };
  absl::StatusOr<HeadTable> TableOfHead(std::string_view head, std::string_view where) const {
    std::string_view table_name = head;
    if (auto it = table_by_prefix_.find(ToAbsl(head)); it != table_by_prefix_.end()) {
      table_name = it->second;
    } else if (auto configured = options_.tables.find(head);
               configured != options_.tables.end() && !configured->second.prefix.empty()) {
      return absl::NotFoundError(
          StrCat(where, ": table ", head, " is addressed as ", configured->second.prefix, ":..."));
    }
    absl::StatusOr<std::shared_ptr<const TableSnapshot>> snapshot = lookups_->Table(table_name);
    if (!snapshot.ok()) return snapshot.status();
    HeadTable table{std::string(head), *std::move(snapshot), false};
    if (auto it = options_.tables.find(table_name); it != options_.tables.end()) {
      table.no_fallback = !it->second.fallback;
    }
    return table;
  }

  // The table and key cells a key names. `last`, if given, is the table the
  // previous key of a batch named: reused when this key names it too, so
  // that a batch resolves its table once, and replaced otherwise.
  absl::StatusOr<ResolvedKey> Resolve(std::string_view key, std::optional<HeadTable>* last = nullptr) const {
    const size_t colon = key.find(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          StrCat("key '", key, "': write <table>:<key column 1>:<key column 2>:... (TABLES: INFO keyspace)"));
    }
    const std::string_view head = key.substr(0, colon);
    std::optional<HeadTable> own;
    std::optional<HeadTable>& table = last != nullptr ? *last : own;
    if (!table || table->head != head) {
      absl::StatusOr<HeadTable> found = TableOfHead(head, StrCat("key '", key, "'"));
      if (!found.ok()) return found.status();
      table = *std::move(found);
    }
    const std::string_view table_name = table->snapshot->table();
    ResolvedKey resolved;
    resolved.table = table->snapshot;
    resolved.no_fallback = table->no_fallback;
    const auto& columns = resolved.table->schema().lookup_columns();
    std::string_view rest = key.substr(colon + 1);
    resolved.cells.reserve(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) {
      std::string_view part = rest;
      if (i + 1 < columns.size()) {
        const size_t next = rest.find(':');
        if (next == std::string_view::npos) {
          std::string expected;
          for (const Column& column : columns) StrAppend(&expected, ":<", column.name, ">");
          return absl::InvalidArgumentError(StrCat("key '", key, "': table ", table_name, " has ", columns.size(),
                                                   " key columns: write ", head, expected));
        }
        part = rest.substr(0, next);
        rest = rest.substr(next + 1);
      }
      absl::StatusOr<Cell> cell = ParseKeyCell(columns[i].type, part);
      if (!cell.ok()) {
        return absl::InvalidArgumentError(StrCat("key '", key, "': column ", columns[i].name, " (",
                                                 ColumnTypeName(columns[i].type), "): ", cell.status().message()));
      }
      resolved.cells.push_back(*std::move(cell));
    }
    return resolved;
  }

  void Lookup(std::string_view key, bool store_only,
              absl::AnyInvocable<void(absl::StatusOr<LookupAnswers>)> done) const {
    absl::StatusOr<ResolvedKey> resolved = Resolve(key);
    if (!resolved.ok()) return done(resolved.status());
    LookupQuery query;
    query.table = std::move(resolved->table);
    query.key = std::move(resolved->cells);
    query.no_fallback = resolved->no_fallback || store_only;
    lookups_->AdmitLookup(std::move(query), std::move(done));
  }

  void Get(const RespSession& session, Args args, RespReply reply) const {
    if (args.size() != 2) return reply.Send(WrongArity(args[0]));
    Lookup(args[1], false,
           [reply = std::move(reply), format = options_.value_format,
            protocol = session.protocol](absl::StatusOr<LookupAnswers> answers) mutable {
             if (!answers.ok()) return reply.Send(StatusReply(answers.status()));
             std::string out;
             absl::Status status = AppendGetReply(*answers, answers->keys[0], format, protocol, &out);
             reply.Send(status.ok() ? std::move(out) : StatusReply(status));
           });
  }

  void Hash(const RespSession& session, const std::string& command, Args args, RespReply reply) const {
    const bool all = command == "HGETALL";
    if ((all && args.size() != 2) || (command == "HGET" && args.size() != 3) ||
        (command == "HMGET" && args.size() < 3)) {
      return reply.Send(WrongArity(args[0]));
    }
    std::vector<std::string> wanted(args.begin() + 2, args.end());
    Lookup(args[1], false,
           [reply = std::move(reply), protocol = session.protocol, all, single = command == "HGET",
            wanted = std::move(wanted)](absl::StatusOr<LookupAnswers> answers) mutable {
             if (!answers.ok()) return reply.Send(StatusReply(answers.status()));
             absl::StatusOr<std::vector<std::pair<size_t, std::string>>> fields =
                 Fields(*answers, answers->keys[0]);
             if (!fields.ok()) return reply.Send(StatusReply(fields.status()));
             const auto& columns = answers->table->schema().value_columns();
             std::string out;
             if (all) {
               AppendRespMapHeader(&out, fields->size(), protocol);
               for (const auto& [c, text] : *fields) {
                 AppendRespBulk(&out, columns[c].name);
                 AppendRespBulk(&out, text);
               }
               return reply.Send(std::move(out));
             }
             if (!single) AppendRespArrayHeader(&out, wanted.size());
             for (const std::string& name : wanted) {
               auto field = std::find_if(fields->begin(), fields->end(),
                                         [&](const auto& f) { return columns[f.first].name == name; });
               if (field == fields->end()) {
                 AppendRespNull(&out, protocol);
               } else {
                 AppendRespBulk(&out, field->second);
               }
             }
             reply.Send(std::move(out));
           });
  }

  // MGET (each key's GET reply, in order) and EXISTS (how many are stored):
  // the keys of each table are one BatchLookup; the reply goes when the
  // last batch is in.
  void Batch(const RespSession& session, Args args, bool exists, RespReply reply) const {
    if (args.size() < 2) return reply.Send(WrongArity(args[0]));
    const size_t count = args.size() - 1;
    if (absl::Status size = lookups_->CheckBatchSize("keys", count); !size.ok()) {
      return reply.Send(StatusReply(size));
    }
    struct Group {
      BatchLookupQuery query;
      std::vector<size_t> positions;  // in the command's key order
    };
    std::vector<Group> groups;
    std::optional<HeadTable> last_table;
    for (size_t k = 0; k < count; ++k) {
      absl::StatusOr<ResolvedKey> resolved = Resolve(args[k + 1], &last_table);
      if (!resolved.ok()) return reply.Send(StatusReply(resolved.status()));
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const Group& g) { return g.query.table == resolved->table; });
      if (group == groups.end()) {
        group = groups.emplace(groups.end());
        group->query.table = resolved->table;
        group->query.no_fallback = resolved->no_fallback || exists;
      }
      group->positions.push_back(k);
      for (Cell& cell : resolved->cells) group->query.keys.push_back(std::move(cell));
    }
    struct Gathered {
      explicit Gathered(RespReply r, size_t keys, size_t groups) : reply(std::move(r)), parts(keys), waiting(groups) {}
      RespReply reply;
      std::mutex mu;
      std::vector<std::string> parts;  // each key's reply (MGET) or "1"/"" (EXISTS)
      absl::Status error;
      size_t waiting;
    };
    auto gathered = std::make_shared<Gathered>(std::move(reply), count, groups.size());
    for (Group& group : groups) {
      lookups_->AdmitBatchLookup(
          std::move(group.query),
          [gathered, positions = std::move(group.positions), exists, format = options_.value_format,
           protocol = session.protocol](absl::StatusOr<LookupAnswers> answers) {
            std::lock_guard<std::mutex> lock(gathered->mu);
            if (!answers.ok()) {
              if (gathered->error.ok()) gathered->error = answers.status();
            } else {
              for (size_t i = 0; i < positions.size(); ++i) {
                const KeyAnswer& answer = answers->keys[i];
                std::string& part = gathered->parts[positions[i]];
                if (exists) {
                  if (answer.found) part = "1";
                } else if (absl::Status status = AppendGetReply(*answers, answer, format, protocol, &part);
                           !status.ok() && gathered->error.ok()) {
                  gathered->error = status;
                }
              }
            }
            if (--gathered->waiting > 0) return;
            if (!gathered->error.ok()) return gathered->reply.Send(StatusReply(gathered->error));
            std::string out;
            if (exists) {
              AppendRespInteger(&out, std::count(gathered->parts.begin(), gathered->parts.end(), "1"));
            } else {
              AppendRespArrayHeader(&out, gathered->parts.size());
              for (const std::string& part : gathered->parts) out.append(part);
            }
            gathered->reply.Send(std::move(out));
          });
    }
  }

  // The commands answered at once, on the connection's thread.
  std::string Immediate(RespSession& session, const std::string& command, Args args) const {
    std::string out;
    if (command == "PING") {
      if (args.size() > 2) return WrongArity(args[0]);
      if (args.size() == 2) {
        AppendRespBulk(&out, args[1]);
      } else {
        AppendRespSimple(&out, "PONG");
      }
    } else if (command == "ECHO") {
      if (args.size() != 2) return WrongArity(args[0]);
      AppendRespBulk(&out, args[1]);
    } else if (command == "QUIT") {
      session.close_after_reply = true;
      AppendRespSimple(&out, "OK");
    } else if (command == "SELECT") {
      if (args.size() != 2) return WrongArity(args[0]);
      if (args[1] != "0") return ErrorReply("ERR DB index is out of range");
      AppendRespSimple(&out, "OK");
    } else if (command == "AUTH") {
      return Auth(session, args);
    } else if (command == "HELLO") {
      return Hello(session, args);
    } else if (command == "CLIENT") {
      return Client(session, args);
    } else if (command == "INFO") {
      AppendRespBulk(&out, Info(session, args));
    } else if (command == "DBSIZE") {
      if (args.size() != 1) return WrongArity(args[0]);
      int64_t rows = 0;
      for (const auto& table : lookups_->Tables()) rows += static_cast<int64_t>(table->info().row_count);
      AppendRespInteger(&out, rows);
    } else if (command == "COMMAND") {
      return Command(session, args);
    } else if (std::find(std::begin(kWriteCommands), std::end(kWriteCommands), command) != std::end(kWriteCommands)) {
      return ErrorReply(StrCat("ERR predstore is read-only: ", command,
                               " is not served; predictions are published with predstore-load (or streamed "
                               "with Admin.Ingest)"));
    } else {
      std::string listed;
      for (size_t i = 1; i < args.size() && i <= 3; ++i) StrAppend(&listed, "'", args[i].substr(0, 128), "' ");
      return ErrorReply(StrCat("ERR unknown command '", args[0].substr(0, 128), "', with args beginning with: ", listed));
    }
    return out;
  }

  std::string Auth(RespSession& session, Args args) const {
    if (args.size() != 2 && args.size() != 3) return WrongArity(args[0]);
    if (!options_.data_tokens.required()) {
      return ErrorReply(
          "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
          "configuration is correct?");
    }
    const bool default_user = args.size() == 2 || args[1] == "default";
    if (!default_user || !options_.data_tokens.Accepts(args.back())) {
      return ErrorReply("WRONGPASS invalid username-password pair or user is disabled.");
    }
    session.authenticated = true;
    std::string out;
    AppendRespSimple(&out, "OK");
    return out;
  }

  std::string Hello(RespSession& session, Args args) const {
    int protocol = session.protocol;
    size_t at = 1;
    if (args.size() > 1) {
      if (args[1] != "2" && args[1] != "3") return ErrorReply("NOPROTO unsupported protocol version");
      protocol = args[1][0] - '0';
      at = 2;
    }
    bool authenticated = session.authenticated;
    std::optional<std::string> name;
    for (; at < args.size(); ++at) {
      const std::string option = Upper(args[at]);
      if (option == "AUTH" && at + 2 < args.size()) {
        const std::string_view given[] = {"AUTH", args[at + 1], args[at + 2]};
        std::string refused = Auth(session, given);
        if (!refused.starts_with("+")) return refused;
        authenticated = true;
        at += 2;
      } else if (option == "SETNAME" && at + 1 < args.size()) {
        name = std::string(args[++at]);
      } else {
        return ErrorReply(StrCat("ERR Syntax error in HELLO option '", args[at].substr(0, 64), "'"));
      }
    }
    if (options_.data_tokens.required() && !authenticated) {
      return ErrorReply(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH "
          "<user> <pass> option can be used to authenticate the client and select the RESP protocol version at "
          "the same time");
    }
    session.protocol = protocol;
    if (name) session.name = *name;
    std::string out;
    AppendRespMapHeader(&out, 7, protocol);
    AppendRespBulk(&out, "server");
    AppendRespBulk(&out, "predstore");
    AppendRespBulk(&out, "version");
    AppendRespBulk(&out, kRedisVersion);
    AppendRespBulk(&out, "proto");
    AppendRespInteger(&out, protocol);
    AppendRespBulk(&out, "id");
    AppendRespInteger(&out, static_cast<int64_t>(session.id));
    AppendRespBulk(&out, "mode");
    AppendRespBulk(&out, "standalone");
    AppendRespBulk(&out, "role");
    AppendRespBulk(&out, "master");
    AppendRespBulk(&out, "modules");
    AppendRespArrayHeader(&out, 0);
    return out;
  }

  std::string Client(RespSession& session, Args args) const {
    if (args.size() < 2) return WrongArity(args[0]);
    const std::string sub = Upper(args[1]);
    std::string out;
    if (sub == "SETNAME" && args.size() == 3) {
      if (args[2].find_first_of(" \n\r") != std::string_view::npos) {
        return ErrorReply("ERR Client names cannot contain spaces, newlines or special characters.");
      }
      session.name = std::string(args[2]);
      AppendRespSimple(&out, "OK");
    } else if (sub == "GETNAME" && args.size() == 2) {
      if (session.name.empty()) {
        AppendRespNull(&out, session.protocol);
      } else {
        AppendRespBulk(&out, session.name);
      }
    } else if (sub == "ID" && args.size() == 2) {
      AppendRespInteger(&out, static_cast<int64_t>(session.id));
    } else if (sub == "INFO" && args.size() == 2) {
      AppendRespBulk(&out, StrCat("id=", session.id, " name=", session.name, " db=0 resp=", session.protocol, "\n"));
    } else if ((sub == "SETINFO" && args.size() == 4) || sub == "NO-EVICT" || sub == "NO-TOUCH") {
      AppendRespSimple(&out, "OK");
    } else {
      return ErrorReply(StrCat("ERR unknown subcommand or wrong number of arguments for '", args[1].substr(0, 64),
                               "'. Try CLIENT HELP."));
    }
    return out;
  }

  std::string Info(const RespSession&, Args args) const {
    const std::string section = args.size() > 1 ? absl::AsciiStrToLower(ToAbsl(args[1])) : "default";
    const bool everything = section == "default" || section == "all" || section == "everything";
    std::string info;
    if (everything || section == "server") {
      const auto uptime =
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
      StrAppend(&info, "# Server\r\nredis_version:", kRedisVersion, "\r\npredstore_version:", PREDSTORE_VERSION,
                "\r\nredis_mode:standalone\r\nprocess_id:", getpid(), "\r\ntcp_port:",
                options_.transport ? options_.transport->port() : 0, "\r\nuptime_in_seconds:", uptime, "\r\n\r\n");
    }
    if ((everything || section == "clients") && options_.transport) {
      StrAppend(&info, "# Clients\r\nconnected_clients:", options_.transport->connections(), "\r\n\r\n");
    }
    if (everything || section == "keyspace") {
      uint64_t rows = 0;
      std::string tables;
      for (const auto& table : lookups_->Tables()) {
        rows += table->info().row_count;
        std::string prefix = table->table();
        if (auto it = options_.tables.find(prefix); it != options_.tables.end() && !it->second.prefix.empty()) {
          prefix = it->second.prefix;
        }
        std::string key = prefix;
        for (const Column& column : table->schema().lookup_columns()) StrAppend(&key, ":<", column.name, ">");
        StrAppend(&tables, "table_", table->table(), ":keys=", table->info().row_count, ",version=", table->version(),
                  ",key=", key, "\r\n");
      }
      StrAppend(&info, "# Keyspace\r\ndb0:keys=", rows, ",expires=0,avg_ttl=0\r\n", tables);
    }
    return info;
  }

  std::string Command(const RespSession& session, Args args) const {
    std::string out;
    const std::string sub = args.size() > 1 ? Upper(args[1]) : "";
    auto append_info = [&out](const CommandInfo& command) {
      AppendRespArrayHeader(&out, 6);
      AppendRespBulk(&out, command.name);
      AppendRespInteger(&out, command.arity);
      AppendRespArrayHeader(&out, 2);
      AppendRespSimple(&out, "readonly");
      AppendRespSimple(&out, "fast");
      AppendRespInteger(&out, command.first_key);
      AppendRespInteger(&out, command.last_key);
      AppendRespInteger(&out, command.first_key > 0 ? 1 : 0);
    };
    if (sub.empty()) {
      AppendRespArrayHeader(&out, std::size(kCommands));
      for (const CommandInfo& command : kCommands) append_info(command);
    } else if (sub == "COUNT") {
      AppendRespInteger(&out, std::size(kCommands));
    } else if (sub == "DOCS") {
      AppendRespMapHeader(&out, 0, session.protocol);
    } else if (sub == "INFO") {
      AppendRespArrayHeader(&out, args.size() - 2);
      for (size_t i = 2; i < args.size(); ++i) {
        const std::string name = absl::AsciiStrToLower(ToAbsl(args[i]));
        auto it = std::find_if(std::begin(kCommands), std::end(kCommands),
                               [&](const CommandInfo& c) { return c.name == name; });
        if (it == std::end(kCommands)) {
          AppendRespNull(&out, session.protocol);
        } else {
          append_info(*it);
        }
      }
    } else {
      return ErrorReply(StrCat("ERR unknown subcommand '", args[1].substr(0, 64), "'. Try COMMAND HELP."));
    }
    return out;
  }

  // Where a SCAN goes on: the tables left, in name order (the first is
  // being scanned), its key ranges (from MATCH), and the last key returned.
  struct ScanCursor {
    std::vector<std::string> tables;
    std::vector<ScanQuery::Range> ranges;
    std::string resume_after;
    std::chrono::steady_clock::time_point used;
  };

  // The first part of `table`'s keys.
  std::string PrefixOf(const std::string& table) const {
    auto it = options_.tables.find(table);
    return it != options_.tables.end() && !it->second.prefix.empty() ? it->second.prefix : table;
  }

  // A new cursor for SCAN's MATCH `pattern` (empty: every key).
  absl::StatusOr<ScanCursor> NewCursor(std::string_view pattern) const {
    ScanCursor cursor;
    if (pattern.empty() || pattern == "*") {
      for (const auto& table : lookups_->Tables()) cursor.tables.push_back(table->table());
      return cursor;
    }
    const absl::Status shape = absl::InvalidArgumentError(
        StrCat("MATCH '", pattern, "': write <table>:<leading key parts>:* (exact parts, then one '*'), or *"));
    if (!pattern.ends_with(":*") || pattern.substr(0, pattern.size() - 1).find_first_of("*?[\\") !=
                                        std::string_view::npos) {
      return shape;
    }
    const std::string_view fixed = pattern.substr(0, pattern.size() - 2);
    const size_t colon = fixed.find(':');
    absl::StatusOr<HeadTable> table = TableOfHead(fixed.substr(0, colon), StrCat("MATCH '", pattern, "'"));
    if (!table.ok()) return table.status();
    const auto& columns = table->snapshot->schema().lookup_columns();
    std::string_view rest = colon == std::string_view::npos ? std::string_view() : fixed.substr(colon + 1);
    for (size_t i = 0; colon != std::string_view::npos; ++i) {
      if (i == columns.size()) return shape;
      const size_t next = rest.find(':');
      absl::StatusOr<Cell> cell = ParseKeyCell(columns[i].type, rest.substr(0, next));
      if (!cell.ok()) {
        return absl::InvalidArgumentError(StrCat("MATCH '", pattern, "': column ", columns[i].name, " (",
                                                 ColumnTypeName(columns[i].type), "): ", cell.status().message()));
      }
      cursor.ranges.push_back({*cell, *cell});
      if (next == std::string_view::npos) break;
      rest = rest.substr(next + 1);
    }
    cursor.tables.push_back(table->snapshot->table());
    return cursor;
  }

  // SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: up to COUNT keys in
  // key order, table after table; the cursor to go on with, "0" at the end.
  std::string Scan(Args args) const {
    if (args.size() < 2 || args.size() % 2 != 0) return WrongArity(args[0]);
    uint64_t cursor_id = 0;
    if (!absl::SimpleAtoi(ToAbsl(args[1]), &cursor_id)) return ErrorReply("ERR invalid cursor");
    std::string_view pattern;
    uint64_t count = 10;
    bool any_type = true;
    for (size_t i = 2; i < args.size(); i += 2) {
      const std::string option = Upper(args[i]);
      if (option == "MATCH") {
        pattern = args[i + 1];
      } else if (option == "COUNT") {
        if (!absl::SimpleAtoi(ToAbsl(args[i + 1]), &count) || count < 1) return ErrorReply("ERR syntax error");
      } else if (option == "TYPE") {
        const std::string type = absl::AsciiStrToLower(ToAbsl(args[i + 1]));
        any_type = type == "hash" || type == "string";
      } else {
        return ErrorReply("ERR syntax error");
      }
    }
    count = std::min(count, kMaxScanCount);
    ScanCursor cursor;
    if (cursor_id == 0) {
      absl::StatusOr<ScanCursor> fresh = NewCursor(pattern);
      if (!fresh.ok()) return StatusReply(fresh.status());
      cursor = *std::move(fresh);
    } else {
      std::lock_guard<std::mutex> lock(cursors_mu_);
      auto it = cursors_.find(cursor_id);
      if (it == cursors_.end()) return ErrorReply("ERR invalid cursor");
      cursor = std::move(it->second);
      cursors_.erase(it);
    }
    std::vector<std::string> keys;
    while (any_type && keys.size() < count && !cursor.tables.empty()) {
      absl::StatusOr<std::shared_ptr<const TableSnapshot>> snapshot = lookups_->Table(cursor.tables.front());
      if (!snapshot.ok()) {  // dropped meanwhile
        cursor.tables.erase(cursor.tables.begin());
        cursor.resume_after.clear();
        continue;
      }
      const auto& columns = (*snapshot)->schema().lookup_columns();
      const std::string prefix = PrefixOf(cursor.tables.front());
      ScanQuery query;
      query.ranges = cursor.ranges;
      query.limit = count - keys.size();
      query.resume_after = cursor.resume_after;
      absl::StatusOr<ScanResult> scanned =
          lookups_->Scan(**snapshot, query, [&](std::span<const Cell> key, std::string_view) {
            std::string text = prefix;
            for (size_t c = 0; c < key.size(); ++c) {
              text.push_back(':');
              // Timestamps as microseconds: RFC 3339 has ':' of its own.
              if (columns[c].type == ColumnType::kTimestamp) {
                StrAppend(&text, std::get<Timestamp>(key[c]).micros);
              } else {
                text.append(FormatCell(ViewOf(key[c])));
              }
            }
            keys.push_back(std::move(text));
          });
      if (!scanned.ok()) return StatusReply(scanned.status());
      if (!scanned->resume_after.empty()) {
        cursor.resume_after = scanned->resume_after;
      } else {
        cursor.tables.erase(cursor.tables.begin());
        cursor.resume_after.clear();
      }
    }
    std::string next = "0";
    if (any_type && !cursor.tables.empty()) next = SaveCursor(std::move(cursor));
    std::string out;
    AppendRespArrayHeader(&out, 2);
    AppendRespBulk(&out, next);
    AppendRespArrayHeader(&out, keys.size());
    for (const std::string& key : keys) AppendRespBulk(&out, key);
    return out;
  }

  // Keeps `cursor` under a new random id, returned as text.
  std::string SaveCursor(ScanCursor cursor) const {
    const auto now = std::chrono::steady_clock::now();
    cursor.used = now;
    std::lock_guard<std::mutex> lock(cursors_mu_);
    absl::erase_if(cursors_, [now](const auto& entry) { return now - entry.second.used > kCursorLife; });
    if (cursors_.size() >= kMaxCursors) {
      auto oldest = std::min_element(cursors_.begin(), cursors_.end(),
                                     [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
      cursors_.erase(oldest);
    }
    uint64_t id = 0;
    while (id == 0 || cursors_.contains(id)) id = cursor_ids_() >> 1;
    cursors_.emplace(id, std::move(cursor));
    return StrCat(id);
  }

  const LookupService* const lookups_;
  const RespFrontEndOptions options_;
  const std::chrono::steady_clock::time_point started_;
  absl::flat_hash_map<std::string, std::string> table_by_prefix_;
  mutable std::mutex cursors_mu_;
  mutable absl::flat_hash_map<uint64_t, ScanCursor> cursors_;
  mutable std::mt19937_64 cursor_ids_{std::random_device()()};
};

}  // namespace

absl::StatusOr<std::map<std::string, RespTableOptions, std::less<>>> ParseRespTableOptions(std::string_view spec) {
  std::map<std::string, RespTableOptions, std::less<>> tables;
  std::map<std::string, std::string> table_of_prefix;
  for (absl::string_view entry : absl::StrSplit(ToAbsl(spec), ';', absl::SkipWhitespace())) {
    std::string table;
    RespTableOptions options;
    for (absl::string_view piece : absl::StrSplit(entry, ',', absl::SkipWhitespace())) {
      const std::string_view pair = FromAbsl(absl::StripAsciiWhitespace(piece));
      const size_t equals = pair.find('=');
      const std::string_view key = pair.substr(0, equals);
      const std::string_view value = equals == std::string_view::npos ? "" : pair.substr(equals + 1);
      if (key == "table" && !value.empty()) {
        table = value;
      } else if (key == "prefix" && !value.empty() && value.find(':') == std::string_view::npos) {
        options.prefix = value;
      } else if (key == "fallback" && (value == "on" || value == "off")) {
        options.fallback = value == "on";
      } else {
        return absl::InvalidArgumentError(
            StrCat("'", pair, "': write table=<table>,prefix=<text without ':'>,fallback=on|off"));
      }
    }
    if (table.empty()) return absl::InvalidArgumentError(StrCat("'", FromAbsl(entry), "' names no table="));
    if (!options.prefix.empty()) {
      if (auto [it, fresh] = table_of_prefix.emplace(options.prefix, table); !fresh) {
        return absl::InvalidArgumentError(
            StrCat("tables ", it->second, " and ", table, " have the same prefix ", options.prefix));
      }
    }
    if (!tables.emplace(table, std::move(options)).second) {
      return absl::InvalidArgumentError(StrCat("table ", table, " is listed twice"));
    }
  }
  return tables;
}

RespHandler MakeRespHandler(const LookupService* lookups, RespFrontEndOptions options) {
  auto front_end = std::make_shared<const RespFrontEnd>(lookups, std::move(options));
  return [front_end](RespSession& session, Args args, RespReply reply) {
    front_end->Handle(session, args, std::move(reply));
  };
}

}  // namespace predstore
