// The open connections of a transport (HTTP, RESP), kept for its shutdown:
// a connection is added when accepted and removes itself when it closes;
// shutdown takes the live ones to drain, waits for the set to empty, and
// drops what is left. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace predstore {

template <typename Connection>
class ConnectionRegistry {
 public:
  void Add(std::shared_ptr<Connection> connection) {
    std::lock_guard<std::mutex> lock(mu_);
    Connection* raw = connection.get();
    connections_.emplace(raw, std::move(connection));
  }

  // Forgets `connection` (no-op if unknown); the registry's reference is
  // released outside the lock.
  void Remove(Connection* connection) {
    std::shared_ptr<Connection> removed;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = connections_.find(connection);
    if (it == connections_.end()) return;
    removed = std::move(it->second);
    connections_.erase(it);
    if (connections_.empty()) drained_.notify_all();
  }

  std::vector<std::shared_ptr<Connection>> Live() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::shared_ptr<Connection>> live;
    live.reserve(connections_.size());
    for (const auto& [raw, connection] : connections_) live.push_back(connection);
    return live;
  }

  // Waits until every connection removed itself, or `deadline`.
  void WaitUntilEmpty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    drained_.wait_until(lock, deadline, [this] { return connections_.empty(); });
  }

  // Drops every reference (outside the lock): what is left closes as it is
  // destroyed.
  void Clear() {
    std::unordered_map<Connection*, std::shared_ptr<Connection>> remaining;
    {
      std::lock_guard<std::mutex> lock(mu_);
      remaining.swap(connections_);
    }
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable drained_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
};

}  // namespace predstore
