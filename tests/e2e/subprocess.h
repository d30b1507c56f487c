// Test support: runs the real predstore programs as child processes.
// RunProgram waits for exit and captures output; ServerProcess starts
// predstore-server on a free loopback port (port 0, reported through
// --port_file, waited for with inotify) and stops it with SIGTERM.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace predstore::testing {

struct ProgramResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// Runs `args` (args[0] is the program path) with stdin from /dev/null or,
// if `input` is non-empty, from that text.
ProgramResult RunProgram(const std::vector<std::string>& args, const std::string& input = "");

class ServerProcess {
 public:
  // Starts predstore-server with `--data_dir=data_dir --listen=127.0.0.1:0`
  // plus `extra_args`, and waits (up to 20 s) until it reports its port.
  ServerProcess(const std::filesystem::path& data_dir, const std::vector<std::string>& extra_args = {});
  ~ServerProcess();  // Stop() if still running

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // Sends SIGTERM and waits; returns the exit code (-1 if killed by a signal).
  int Stop();
  const std::filesystem::path& log_path() const { return log_; }

 private:
  int pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_;
};

// Waits until `path` exists (created or renamed into its folder), up to
// `timeout`, without sleeping: inotify on the parent folder.
bool WaitForFile(const std::filesystem::path& path, std::chrono::milliseconds timeout);

// Paths of the programs under test (set by CMake).
std::string ServerBinary();
std::string LoaderBinary();
std::string CliBinary();

}  // namespace predstore::testing
