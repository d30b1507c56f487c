// ShardedTable: what the client library knows of a hash-sharded table
// (docs/scale-out.md#shards) to reach it: which shard a key belongs to
// (ShardOfKey, as the loader and the servers compute it), a BatchLookup
// split into one request per shard and its answers merged back in request
// order, and the key order in which the shards' scan rows merge. Built
// from the table's GetTable answer; immutable, so thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/table/key_codec.h"
#include "core/table/schema.h"
#include "predstore/v1/predstore.pb.h"

namespace predstore::internal {

class ShardedTable {
 public:
  // One shard's share of a BatchLookup.
  struct SubBatch {
    uint32_t shard = 0;
    v1::BatchLookupRequest request;
    // For each of the request's keys, its position in the whole request.
    std::vector<uint32_t> positions;
  };

  // kFailedPrecondition when `info` is not a sharded table's (or has a key
  // hash this client does not know); kInvalidArgument for a bad schema.
  static absl::StatusOr<std::unique_ptr<ShardedTable>> FromInfo(const v1::TableInfo& info);
  ShardedTable(const ShardedTable&) = delete;
  ShardedTable& operator=(const ShardedTable&) = delete;

  uint32_t shard_count() const { return count_; }

  // The shard of a key given by column (a Lookup's, a stream event's).
  // kInvalidArgument when the key does not convert (the caller lets a
  // server name the problem).
  absl::StatusOr<uint32_t> ShardOf(const google::protobuf::RepeatedPtrField<v1::KeyField>& key) const;

  // Splits a BatchLookup (row or columnar form) into one request per shard
  // that has keys, in shard order, each with the request's other fields and
  // its keys' features. kInvalidArgument as ShardOf.
  absl::StatusOr<std::vector<SubBatch>> Split(const v1::BatchLookupRequest& request) const;

  // The answer to the whole request from the answers to Split's requests
  // (answers[i] answers subs[i]), every key back at its position.
  v1::BatchLookupResponse Merge(const v1::BatchLookupRequest& request, std::span<const SubBatch> subs,
                                std::span<const v1::BatchLookupResponse> answers) const;

  // A scan row's encoded key: the order in which every shard streams its
  // rows, and the page token that resumes after it. kInvalidArgument when
  // the row's key does not convert.
  absl::StatusOr<std::string> OrderKey(const v1::ScanRow& row) const;

 private:
  ShardedTable(Schema schema, uint32_t count) : schema_(std::move(schema)), codec_(schema_), count_(count) {}
  // The cells of key k of a BatchLookup, in lookup-column order.
  absl::Status BatchKey(const v1::BatchLookupRequest& request, const std::vector<int>& positions, size_t k,
                        std::vector<Cell>* cells) const;

  const Schema schema_;
  const KeyCodec codec_;  // refers to schema_
  const uint32_t count_;
};

}  // namespace predstore::internal
