#include "core/snapshot/table_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/base/crash_points.h"
#include "core/base/logging.h"
#include "core/base/status_macros.h"
#include "core/base/strings.h"
#include "core/table/key_codec.h"
#include "core/table/shard_hash.h"
#include "nlohmann/json.hpp"

namespace predstore {
namespace fs = std::filesystem;
namespace {

constexpr char kManifestFile[] = "manifest.json";

// An exclusive flock(2) on the table's LOCK file, released on destruction.
class TableLock {
 public:
  static absl::StatusOr<TableLock> Acquire(const fs::path& table_path) {
    std::error_code error;
    fs::create_directories(table_path, error);
    if (error) return absl::PermissionDeniedError(StrCat(table_path.string(), ": ", error.message()));
    int fd = ::open((table_path / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return absl::PermissionDeniedError(StrCat(table_path.string(), "/LOCK: ", std::strerror(errno)));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(fd);
        return absl::InternalError(StrCat(table_path.string(), "/LOCK: ", std::strerror(errno)));
      }
    }
    return TableLock(fd);
  }
  TableLock(TableLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~TableLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  explicit TableLock(int fd) : fd_(fd) {}
  int fd_;
};

absl::Status SyncPath(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(StrCat(path.string(), ": ", std::strerror(errno)));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::InternalError(StrCat(path.string(), ": fsync: ", std::strerror(errno)));
  return absl::OkStatus();
}

nlohmann::json PartToJson(const PartInfo& part) {
  nlohmann::json json = {{"dir", part.dir}, {"rows", part.rows}, {"version", part.version}};
  json["partition"] = part.partition ? nlohmann::json(*part.partition) : nlohmann::json(nullptr);
  return json;
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

bool ProcessRuns(const std::string& pid_text) {
  int pid = 0;
  if (!absl::SimpleAtoi(pid_text, &pid) || pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

const SnapshotVersion* TableManifest::Find(uint64_t version) const {
  for (const SnapshotVersion& v : versions) {
    if (v.version == version) return &v;
  }
  return nullptr;
}

absl::Status TableDirectory::ValidateTableName(std::string_view table) {
  bool ok = !table.empty() && table.size() <= 128 && table[0] != '-';
  for (char c : table) ok = ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) {
    return absl::InvalidArgumentError(
        StrCat("table name \"", table, "\" must be 1-128 of [A-Za-z0-9_-], not starting with '-'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> TableDirectory::ListTables(const fs::path& data_dir) {
  std::error_code error;
  std::vector<std::string> tables;
  if (!fs::exists(data_dir, error)) return tables;
  for (const auto& entry : fs::directory_iterator(data_dir, error)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && ValidateTableName(name).ok() && fs::exists(entry.path() / kManifestFile)) {
      tables.push_back(name);
    }
  }
  if (error) return absl::PermissionDeniedError(StrCat(data_dir.string(), ": ", error.message()));
  std::sort(tables.begin(), tables.end());
  return tables;
}

TableDirectory::TableDirectory(fs::path data_dir, std::string table)
    : data_dir_(std::move(data_dir)), table_(std::move(table)), path_(data_dir_ / table_) {}

absl::StatusOr<TableManifest> TableDirectory::ReadManifest() const {
  fs::path file = path_ / kManifestFile;
  std::ifstream in(file);
  if (!in) return absl::NotFoundError(StrCat("table \"", table_, "\" not found in ", data_dir_.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  auto corrupt = [&](std::string_view what) {
    return absl::DataLossError(StrCat(file.string(), ": ", what));
  };
  if (json.is_discarded() || !json.is_object()) return corrupt("not a JSON object");
  if (const int format = json.value("format_version", 0);
      format < kOldestManifestFormatVersion || format > kManifestFormatVersion) {
    return corrupt(StrCat("unsupported manifest format version ", format, " (this build reads ",
                          kOldestManifestFormatVersion, " to ", kManifestFormatVersion, ")"));
  }
  if (!json.contains("schema") || !json.contains("versions") || !json["versions"].is_array()) {
    return corrupt("missing schema or versions");
  }
  TableManifest manifest;
  auto schema = Schema::FromJson(json["schema"].dump());
  if (!schema.ok()) return corrupt(FromAbsl(schema.status().message()));
  manifest.schema = std::move(*schema);
  manifest.active_version = json.value("active_version", uint64_t{0});
  manifest.next_version = json.value("next_version", uint64_t{1});
  for (const auto& v : json["versions"]) {
    SnapshotVersion version;
    version.version = v.value("version", uint64_t{0});
    version.created_at_micros = v.value("created_at_micros", int64_t{0});
    version.row_count = v.value("row_count", uint64_t{0});
    version.produced_by = v.value("produced_by", "");
    if (v.contains("key_mapping")) {
      auto mapping = KeyMapping::FromJson(v["key_mapping"].dump(), KeyCodec(manifest.schema).curve_columns().size());
      if (!mapping.ok()) return corrupt(FromAbsl(mapping.status().message()));
      version.key_mapping = std::move(*mapping);
    }
    if (v.contains("shards")) {
      const auto& shards = v["shards"];
      if (!shards.is_object() || shards.value("hash", "") != kShardHashName) {
        return corrupt(StrCat("version ", version.version, ": unknown shard hash (this build knows ", kShardHashName,
                              ")"));
      }
      version.shard_count = shards.value("count", uint32_t{0});
      if (version.shard_count == 0) return corrupt(StrCat("version ", version.version, ": zero shards"));
    }
    if (!v.contains("parts") || !v["parts"].is_array()) return corrupt("version without parts");
    for (const auto& p : v["parts"]) {
      PartInfo part;
      part.dir = p.value("dir", "");
      part.rows = p.value("rows", uint64_t{0});
      part.version = p.value("version", uint64_t{0});
      part.shard = p.value("shard", uint32_t{0});
      if (version.shard_count > 0 ? part.shard >= version.shard_count : part.shard != 0) {
        return corrupt(StrCat("part ", part.dir, ": shard ", part.shard, " out of range"));
      }
      if (p.contains("partition") && p["partition"].is_string()) part.partition = p["partition"].get<std::string>();
      if (part.dir.empty() || part.dir.find("..") != std::string::npos) return corrupt("part with a bad dir");
      version.parts.push_back(std::move(part));
    }
    manifest.versions.push_back(std::move(version));
  }
  if (!manifest.Find(manifest.active_version)) return corrupt("active version is not among the kept versions");
  return manifest;
}

absl::Status TableDirectory::WriteManifest(const TableManifest& manifest) const {
  nlohmann::json json;
  const bool sharded = std::any_of(manifest.versions.begin(), manifest.versions.end(),
                                   [](const SnapshotVersion& v) { return v.shard_count > 0; });
  json["format_version"] = sharded ? 3 : manifest.schema.nullable_value_columns() > 0 ? 2 : 1;
  json["table"] = table_;
  json["schema"] = nlohmann::json::parse(manifest.schema.ToJson());
  json["active_version"] = manifest.active_version;
  json["next_version"] = manifest.next_version;
  json["versions"] = nlohmann::json::array();
  for (const SnapshotVersion& v : manifest.versions) {
    nlohmann::json version = {{"version", v.version},
                              {"created_at_micros", v.created_at_micros},
                              {"row_count", v.row_count},
                              {"parts", nlohmann::json::array()}};
    for (const PartInfo& part : v.parts) {
      version["parts"].push_back(PartToJson(part));
      if (v.shard_count > 0) version["parts"].back()["shard"] = part.shard;
    }
    if (v.shard_count > 0) version["shards"] = {{"count", v.shard_count}, {"hash", kShardHashName}};
    if (!v.produced_by.empty()) version["produced_by"] = v.produced_by;
    if (!v.key_mapping.empty()) version["key_mapping"] = nlohmann::json::parse(v.key_mapping.ToJson());
    json["versions"].push_back(std::move(version));
  }
  fs::path temp = path_ / StrCat(kManifestFile, ".tmp");
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json.dump(2) << "\n";
    out.close();
    if (!out) return absl::ResourceExhaustedError(StrCat(temp.string(), ": cannot write (disk full?)"));
  }
  PREDSTORE_RETURN_IF_ERROR(SyncPath(temp, O_RDONLY));
  CrashPoint("manifest:temp-written");
  std::error_code error;
  fs::rename(temp, path_ / kManifestFile, error);
  if (error) return absl::InternalError(StrCat(temp.string(), ": rename: ", error.message()));
  return SyncPath(path_, O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<fs::path> TableDirectory::CreateStagingDir() const {
  static std::atomic<int> counter{0};
  fs::path staging = path_ / "staging";
  std::error_code error;
  fs::create_directories(staging, error);
  if (error) return absl::PermissionDeniedError(StrCat(staging.string(), ": ", error.message()));
  // Another machine's (pod's) loads are its own to clean up: their process
  // ids mean nothing here. Sharded builds stay until their last shard.
  const std::string host = StrCat("@", HostName());
  for (const auto& entry : fs::directory_iterator(staging, error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("shards-")) continue;
    const size_t at = name.find('@');
    if (at != std::string::npos && name.substr(at) != host) continue;
    if (!ProcessRuns(name.substr(0, name.find('-')))) {
      LogInfo("removing staging folder of a stopped load: ", entry.path().string());
      fs::remove_all(entry.path(), error);
    }
  }
  fs::path dir = staging / StrCat(::getpid(), "-", absl::ToUnixMicros(absl::Now()), "-", counter++, host);
  fs::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(StrCat(dir.string(), ": ", error.message()));
  return dir;
}

absl::StatusOr<TableManifest> TableDirectory::Publish(const Schema& schema, const fs::path& staging_dir,
                                                      std::vector<PartInfo> parts, uint64_t keep_versions,
                                                      PublishMode mode, VersionDetails details) {
  PREDSTORE_ASSIGN_OR_RETURN(TableLock lock, TableLock::Acquire(path_));
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, ManifestFor(schema));
  return PublishLocked(std::move(manifest), staging_dir, std::move(parts), keep_versions, mode, std::move(details));
}

absl::StatusOr<TableManifest> TableDirectory::ManifestFor(const Schema& schema) const {
  TableManifest manifest;
  auto existing = ReadManifest();
  if (existing.ok()) {
    manifest = std::move(*existing);
    if (!(manifest.schema == schema)) {
      return absl::FailedPreconditionError(StrCat("table \"", table_, "\" has schema ", manifest.schema.Describe(),
                                                  "; this load has ", schema.Describe()));
    }
  } else if (absl::IsNotFound(existing.status())) {
    manifest.schema = schema;
  } else {
    return existing.status();
  }
  return manifest;
}

absl::StatusOr<TableManifest> TableDirectory::PublishLocked(TableManifest manifest, const fs::path& staging_dir,
                                                            std::vector<PartInfo> parts, uint64_t keep_versions,
                                                            PublishMode mode, VersionDetails details) {
  const Schema& schema = manifest.schema;
  if (mode == PublishMode::kReplacePartitions && !schema.partition_column()) {
    return absl::InvalidArgumentError(StrCat("table \"", table_, "\" is not partitioned: nothing to replace by partition"));
  }
  const SnapshotVersion* active = manifest.Find(manifest.active_version);
  if (mode == PublishMode::kReplacePartitions && details.shard_count > 0) {
    return absl::InvalidArgumentError("a sharded load replaces the whole table, not partitions");
  }
  if (mode == PublishMode::kReplacePartitions && active != nullptr && active->shard_count > 0) {
    return absl::FailedPreconditionError(StrCat("table \"", table_, "\" is sharded (version ", active->version,
                                                "): load the whole table, sharded, instead of partitions"));
  }
  if (mode == PublishMode::kReplacePartitions && active != nullptr && !(active->key_mapping == details.key_mapping)) {
    return absl::FailedPreconditionError(StrCat("table \"", table_, "\": a load published version ", active->version,
                                                " with a new key mapping while this one ran; run it again"));
  }

  const uint64_t number = manifest.next_version;
  PREDSTORE_RETURN_IF_ERROR(RemoveUnreferencedParts(manifest));
  std::error_code error;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string dir = StrCat("parts/v", number, "-", i);
    fs::rename(staging_dir / parts[i].dir, path_ / dir, error);
    if (error) return absl::InternalError(StrCat("moving ", parts[i].dir, " into ", dir, ": ", error.message()));
    parts[i].dir = dir;
    parts[i].version = number;
    if (i == 0) CrashPoint("publish:part-moved");
  }
  // The moved parts' entries reach the disk before a manifest names them.
  PREDSTORE_RETURN_IF_ERROR(SyncPath(path_ / "parts", O_RDONLY | O_DIRECTORY));
  CrashPoint("publish:parts-moved");
  if (mode == PublishMode::kReplacePartitions && active != nullptr) {
    for (const PartInfo& old : active->parts) {
      bool replaced = std::any_of(parts.begin(), parts.end(),
                                  [&](const PartInfo& p) { return p.partition == old.partition; });
      if (!replaced) parts.push_back(old);
    }
  }
  PREDSTORE_RETURN_IF_ERROR(CommitVersion(&manifest, std::move(parts), keep_versions, std::move(details)));
  CrashPoint("publish:manifest-written");
  fs::remove_all(staging_dir, error);
  return manifest;
}

absl::StatusOr<std::optional<TableManifest>> TableDirectory::StageShard(const Schema& schema,
                                                                        const fs::path& staging_dir,
                                                                        std::vector<PartInfo> parts,
                                                                        const ShardBuild& build,
                                                                        uint64_t keep_versions,
                                                                        VersionDetails details) {
  bool id_ok = !build.id.empty() && build.id.size() <= 64;
  for (char c : build.id) id_ok = id_ok && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                            c == '-' || c == '.');
  if (!id_ok || build.id == "." || build.id == "..") {
    return absl::InvalidArgumentError(StrCat("build id \"", build.id, "\" must be 1-64 of [A-Za-z0-9_.-]"));
  }
  if (build.count == 0 || build.index >= build.count) {
    return absl::InvalidArgumentError(StrCat("shard ", build.index, " of ", build.count));
  }
  PREDSTORE_ASSIGN_OR_RETURN(TableLock lock, TableLock::Acquire(path_));
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, ManifestFor(schema));
  const fs::path build_dir = path_ / "staging" / StrCat("shards-", build.id);
  const std::string shard_name = StrCat("shard-", build.index);
  std::error_code error;
  fs::create_directories(build_dir, error);
  if (error) return absl::PermissionDeniedError(StrCat(build_dir.string(), ": ", error.message()));
  // A re-run of this shard replaces what the earlier one staged.
  fs::remove(build_dir / StrCat(shard_name, ".json"), error);
  fs::remove_all(build_dir / shard_name, error);
  fs::rename(staging_dir, build_dir / shard_name, error);
  if (error) return absl::InternalError(StrCat("staging ", staging_dir.string(), " as ", shard_name, ": ", error.message()));
  CrashPoint("stage:shard-moved");
  nlohmann::json record = {{"count", build.count},
                           {"schema", nlohmann::json::parse(schema.ToJson())},
                           {"parts", nlohmann::json::array()}};
  for (const PartInfo& part : parts) {
    PartInfo staged = part;
    staged.dir = StrCat(shard_name, "/", part.dir);
    record["parts"].push_back(PartToJson(staged));
  }
  const fs::path record_path = build_dir / StrCat(shard_name, ".json");
  {
    std::ofstream out(StrCat(record_path.string(), ".tmp"), std::ios::trunc);
    out << record.dump() << "\n";
    out.close();
    if (!out) return absl::ResourceExhaustedError(StrCat(record_path.string(), ": cannot write (disk full?)"));
  }
  PREDSTORE_RETURN_IF_ERROR(SyncPath(StrCat(record_path.string(), ".tmp"), O_RDONLY));
  fs::rename(StrCat(record_path.string(), ".tmp"), record_path, error);
  if (error) return absl::InternalError(StrCat(record_path.string(), ": rename: ", error.message()));
  PREDSTORE_RETURN_IF_ERROR(SyncPath(build_dir, O_RDONLY | O_DIRECTORY));
  CrashPoint("stage:shard-recorded");

  // Whole when every shard is staged, each as one of the same count.
  std::vector<PartInfo> all;
  uint32_t staged = 0;
  for (uint32_t shard = 0; shard < build.count; ++shard) {
    std::ifstream in(build_dir / StrCat("shard-", shard, ".json"));
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json other = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (other.is_discarded() || !other.is_object() || !other.contains("parts")) {
      return absl::DataLossError(StrCat(build_dir.string(), ": shard ", shard, "'s record is unreadable; stage it "
                                        "again"));
    }
    if (other.value("count", uint32_t{0}) != build.count) {
      return absl::FailedPreconditionError(StrCat("build \"", build.id, "\": shard ", shard, " was staged as one of ",
                                                  other.value("count", uint32_t{0}), " shards, this one as one of ",
                                                  build.count));
    }
    auto other_schema = Schema::FromJson(other["schema"].dump());
    if (!other_schema.ok() || !(*other_schema == schema)) {
      return absl::FailedPreconditionError(StrCat("build \"", build.id, "\": shard ", shard,
                                                  " was staged with another schema"));
    }
    for (const auto& p : other["parts"]) {
      PartInfo part;
      part.dir = p.value("dir", "");
      part.rows = p.value("rows", uint64_t{0});
      if (p.contains("partition") && p["partition"].is_string()) part.partition = p["partition"].get<std::string>();
      part.shard = shard;
      all.push_back(std::move(part));
    }
    ++staged;
  }
  if (staged < build.count) {
    LogInfo("table ", table_, ": build ", build.id, " has ", staged, " of ", build.count,
            " shards staged; the last one publishes");
    return std::optional<TableManifest>();
  }
  details.shard_count = build.count;
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest published, PublishLocked(std::move(manifest), build_dir, std::move(all),
                                                                    keep_versions, PublishMode::kReplaceTable,
                                                                    std::move(details)));
  return std::optional<TableManifest>(std::move(published));
}

absl::Status TableDirectory::RemoveUnreferencedParts(const TableManifest& manifest) const {
  const fs::path parts = path_ / "parts";
  std::error_code error;
  if (fs::create_directories(parts, error)) {
    PREDSTORE_RETURN_IF_ERROR(SyncPath(path_, O_RDONLY | O_DIRECTORY));
  } else if (error) {
    return absl::PermissionDeniedError(StrCat(parts.string(), ": ", error.message()));
  }
  std::set<std::string> referenced;
  for (const SnapshotVersion& version : manifest.versions) {
    for (const PartInfo& part : version.parts) referenced.insert(part.dir);
  }
  std::vector<fs::path> unreferenced;
  for (fs::directory_iterator it(parts, error), end; !error && it != end; it.increment(error)) {
    if (!referenced.contains(StrCat("parts/", it->path().filename().string()))) unreferenced.push_back(it->path());
  }
  if (error) return absl::InternalError(StrCat(parts.string(), ": ", error.message()));
  for (const fs::path& dir : unreferenced) {
    LogInfo("removing ", dir.string(), ", which no manifest version names (left by a stopped publish)");
    fs::remove_all(dir, error);
    if (error) return absl::InternalError(StrCat("removing ", dir.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<TableManifest> TableDirectory::DropPartition(std::string_view partition, uint64_t keep_versions) {
  PREDSTORE_ASSIGN_OR_RETURN(TableLock lock, TableLock::Acquire(path_));
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, ReadManifest());
  if (!manifest.schema.partition_column()) {
    return absl::InvalidArgumentError(StrCat("table \"", table_, "\" is not partitioned"));
  }
  auto cell = ParseCell(manifest.schema.partition_column()->type, partition);
  if (!cell.ok()) {
    return absl::InvalidArgumentError(StrCat("partition \"", partition, "\": ", cell.status().message()));
  }
  const std::string canonical = FormatCell(ViewOf(*cell));
  if (manifest.Find(manifest.active_version)->shard_count > 0) {
    return absl::FailedPreconditionError(StrCat("table \"", table_, "\" is sharded: load the whole table without "
                                                "partition ", canonical, " instead"));
  }
  std::vector<PartInfo> parts = manifest.Find(manifest.active_version)->parts;
  auto it = std::find_if(parts.begin(), parts.end(), [&](const PartInfo& p) { return p.partition == canonical; });
  if (it == parts.end()) {
    return absl::NotFoundError(StrCat("table \"", table_, "\" has no partition ", canonical, " in version ",
                                      manifest.active_version));
  }
  if (parts.size() == 1) {
    return absl::FailedPreconditionError(StrCat("partition ", canonical, " is the table's last; load new data instead"));
  }
  parts.erase(it);
  VersionDetails details;
  details.key_mapping = manifest.Find(manifest.active_version)->key_mapping;
  PREDSTORE_RETURN_IF_ERROR(CommitVersion(&manifest, std::move(parts), keep_versions, std::move(details)));
  return manifest;
}

absl::Status TableDirectory::CommitVersion(TableManifest* manifest, std::vector<PartInfo> parts,
                                           uint64_t keep_versions, VersionDetails details) {
  // Parts by shard, then in key order: their encoded partition prefixes.
  if (manifest->schema.partition_column() || details.shard_count > 0) {
    KeyCodec codec(manifest->schema);
    std::vector<std::pair<std::string, PartInfo>> keyed;
    for (PartInfo& part : parts) {
      if (part.shard >= std::max<uint32_t>(details.shard_count, 1)) {
        return absl::InternalError(StrCat(part.dir, ": shard ", part.shard, " of ", details.shard_count));
      }
      std::string prefix;
      if (manifest->schema.partition_column()) {
        if (!part.partition) return absl::DataLossError(StrCat(part.dir, ": partition value missing"));
        PREDSTORE_ASSIGN_OR_RETURN(Cell cell, ParseCell(manifest->schema.partition_column()->type, *part.partition));
        codec.EncodePartition(cell, &prefix);
      }
      keyed.emplace_back(std::move(prefix), std::move(part));
    }
    std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second.shard, a.first) < std::tie(b.second.shard, b.first);
    });
    parts.clear();
    for (auto& [prefix, part] : keyed) parts.push_back(std::move(part));
  }
  SnapshotVersion version;
  version.version = manifest->next_version++;
  version.created_at_micros = absl::ToUnixMicros(absl::Now());
  version.produced_by = std::move(details.produced_by);
  version.key_mapping = std::move(details.key_mapping);
  version.shard_count = details.shard_count;
  for (const PartInfo& part : parts) version.row_count += part.rows;
  version.parts = std::move(parts);
  manifest->versions.insert(manifest->versions.begin(), std::move(version));
  manifest->active_version = manifest->versions.front().version;

  std::vector<SnapshotVersion> pruned;
  while (manifest->versions.size() > std::max<uint64_t>(keep_versions, 1)) {
    pruned.push_back(std::move(manifest->versions.back()));
    manifest->versions.pop_back();
  }
  PREDSTORE_RETURN_IF_ERROR(WriteManifest(*manifest));

  // Delete pruned parts no kept version still uses.
  std::error_code error;
  for (const SnapshotVersion& old : pruned) {
    for (const PartInfo& part : old.parts) {
      bool used = false;
      for (const SnapshotVersion& kept : manifest->versions) {
        for (const PartInfo& p : kept.parts) used = used || p.dir == part.dir;
      }
      if (!used) fs::remove_all(path_ / part.dir, error);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TableManifest> TableDirectory::Rollback(
    uint64_t to_version, absl::FunctionRef<absl::Status(const TableManifest&)> before_commit) {
  PREDSTORE_ASSIGN_OR_RETURN(TableLock lock, TableLock::Acquire(path_));
  PREDSTORE_ASSIGN_OR_RETURN(TableManifest manifest, ReadManifest());
  if (to_version == 0) {
    for (const SnapshotVersion& v : manifest.versions) {
      if (v.version < manifest.active_version) {
        to_version = v.version;
        break;
      }
    }
    if (to_version == 0) {
      return absl::FailedPreconditionError(StrCat("table \"", table_, "\": no kept version older than ",
                                                        manifest.active_version, " to roll back to"));
    }
  }
  if (!manifest.Find(to_version)) {
    return absl::NotFoundError(StrCat("table \"", table_, "\" keeps no version ", to_version));
  }
  manifest.active_version = to_version;
  PREDSTORE_RETURN_IF_ERROR(before_commit(manifest));
  PREDSTORE_RETURN_IF_ERROR(WriteManifest(manifest));
  return manifest;
}

}  // namespace predstore
