// The Redis-protocol front end: commands on a RespServer that answer
// through core's LookupService, the same answer path as gRPC and HTTP, so
// stream events and fallback scoring answer alike. Any Redis client
// (redis-cli, redis-py, Jedis, go-redis, hiredis) reads predictions with it.
//
// Keys: a table's row is "<table>:<k1>:<k2>:..." with one part per key
// column in the table's order, each parsed and validated as over gRPC (a
// string part may itself hold ':' only in the last column). A table may be
// given another prefix, and fallback scoring turned off, per table
// (RespTableOptions).
//
// Commands (docs/serving.md#the-redis-protocol has the reply of each):
//   GET key                the value columns, as text ("853.07,1066.3375")
//                          or JSON ({"forecast":853.07,...}); nil on a miss
//   MGET key...            GET of each key, one batch per table
//   HGET key column, HMGET key column..., HGETALL key
//                          the value columns as the fields of a hash
//   EXISTS key...          how many keys have a stored prediction (no scoring)
//   SCAN cursor [MATCH <table>:<leading parts>:*] [COUNT n]
//                          keys in key order; MATCH is a range scan
//   DBSIZE, PING, ECHO, SELECT 0, QUIT, HELLO [2|3] [AUTH u p] [SETNAME n],
//   AUTH [default] token, CLIENT SETNAME|GETNAME|ID|INFO|SETINFO,
//   INFO [section], COMMAND [COUNT|DOCS|INFO]
// Write commands answer an error saying predictions are published with
// predstore-load. With data tokens, every command but AUTH, HELLO and QUIT
// answers NOAUTH until the connection has authenticated with one.
//
// Errors: "-ERR <message>" for a bad request (the message names the key
// and column), "-TRYAGAIN <message>" when the server is overloaded or a
// table is not available now, "-NOAUTH"/"-WRONGPASS" for authentication.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/serve/lookup_service.h"
#include "server/bearer_auth.h"
#include "server/resp_server.h"

namespace predstore {

enum class RespValueFormat { kText, kJson };

struct RespTableOptions {
  // The first part of the table's keys instead of its name; empty: the name.
  std::string prefix;
  // Whether a miss may be scored by the table's fallback model.
  bool fallback = true;
};

struct RespFrontEndOptions {
  RespValueFormat value_format = RespValueFormat::kText;
  // AUTH takes one of these (none: AUTH is an error, as in Redis).
  BearerTokens data_tokens{{}};
  // By table name.
  std::map<std::string, RespTableOptions, std::less<>> tables;
  // For INFO (connections, port); null: not reported. Must outlive the
  // handler's calls.
  const RespServer* transport = nullptr;
};

// Parses --resp_tables: "table=<t>,prefix=<p>,fallback=on|off;table=...".
// kInvalidArgument naming the part that does not parse.
absl::StatusOr<std::map<std::string, RespTableOptions, std::less<>>> ParseRespTableOptions(std::string_view spec);

// The handler of a RespServer. `lookups` must outlive it.
RespHandler MakeRespHandler(const LookupService* lookups, RespFrontEndOptions options);

}  // namespace predstore
