// Test support: runs the real predstore programs as child processes.
// RunProgram waits for exit and captures output; ChildProcess runs one in
// the background, the test reading its output line by line (which paces
// it); ServerProcess starts predstore-server on a free loopback port (port
// 0, reported through --port_file, waited for with inotify), or on a given
// one to restart it where its clients expect it, and stops it with SIGTERM
// or SIGKILL.
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

// A program running in the background, stdin from /dev/null, stderr into
// a file, stdout into a small pipe that only the test reads: a child that
// prints faster than the test reads blocks after a few kilobytes, so a
// test that stops reading holds the child near where it stopped. Not
// thread-safe.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args, const std::filesystem::path& err);
  ~ChildProcess();  // kill -9 if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // Reads stdout until `count` lines in all have been read (or it ends, or
  // `timeout` passes), and no further; returns how many have been read.
  size_t ReadLines(size_t count, std::chrono::milliseconds timeout);
  // The complete lines read so far, without their newlines.
  const std::vector<std::string>& lines() const { return lines_; }
  // Reads stdout to its end, then waits for the exit; returns the exit
  // code (-1 if killed by a signal or not running).
  int Wait();
  // kill -9 and wait; returns Wait()'s code.
  int Kill();

 private:
  int pid_ = -1;
  int out_ = -1;  // read end of the stdout pipe
  std::string partial_;
  std::vector<std::string> lines_;
};

class ServerProcess {
 public:
  // Starts predstore-server with `--data_dir=data_dir --listen=127.0.0.1:<port>`
  // (0: a free port) plus `extra_args`, and `environment` ("NAME=value")
  // added to its environment, and waits (up to 20 s) until it reports its
  // port. A given port must be free: port reuse is off.
  ServerProcess(const std::filesystem::path& data_dir, const std::vector<std::string>& extra_args = {}, int port = 0,
                const std::vector<std::string>& environment = {});
  ~ServerProcess();  // Stop() if still running

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // Sends SIGTERM and waits; returns the exit code (-1 if killed by a signal).
  int Stop();
  // Sends `signal_number` (SIGHUP, say) and returns at once.
  void Signal(int signal_number) const;
  // kill -9: no shutdown at all. Returns once the process is gone (and its
  // port free).
  void Kill();
  // Waits for the server to exit by itself; returns its exit code (-1 if
  // killed by a signal).
  int Wait();
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
