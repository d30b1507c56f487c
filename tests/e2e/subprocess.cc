#include "tests/e2e/subprocess.h"

#include "tests/support/scratch_dir.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace predstore::testing {
namespace fs = std::filesystem;
namespace {

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

pid_t Spawn(const std::vector<std::string>& args, const fs::path& in, const fs::path& out, const fs::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ProgramResult RunProgram(const std::vector<std::string>& args, const std::string& input) {
  test_support::ScratchDir io;
  fs::path in = "/dev/null";
  if (!input.empty()) {
    in = io.path() / "stdin";
    std::ofstream(in) << input;
  }
  ProgramResult result;
  pid_t pid = Spawn(args, in, io.path() / "stdout", io.path() / "stderr");
  if (pid < 0) {
    result.err = "cannot start " + args[0];
    return result;
  }
  result.exit_code = WaitExit(pid);
  result.out = ReadFile(io.path() / "stdout");
  result.err = ReadFile(io.path() / "stderr");
  return result;
}

bool WaitForFile(const fs::path& path, std::chrono::milliseconds timeout) {
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return false;
  inotify_add_watch(fd, path.parent_path().c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool found = fs::exists(path);
  while (!found && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    char buffer[4096];
    while (read(fd, buffer, sizeof(buffer)) > 0) {
    }
    found = fs::exists(path);
  }
  close(fd);
  return found;
}

ChildProcess::ChildProcess(const std::vector<std::string>& args, const fs::path& err) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  fcntl(pipe_fds[1], F_SETPIPE_SZ, 4096);  // the smallest pipe: a page
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  out_ = pipe_fds[0];
}

ChildProcess::~ChildProcess() {
  Kill();
  if (out_ >= 0) close(out_);
}

size_t ChildProcess::ReadLines(size_t count, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_ >= 0 && lines_.size() < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd pfd{out_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) break;
    // A byte at a time: what the test has not asked for stays in the pipe.
    char c;
    if (read(out_, &c, 1) != 1) {  // the end: the child closed its stdout
      close(out_);
      out_ = -1;
      break;
    }
    if (c != '\n') {
      partial_.push_back(c);
    } else {
      lines_.push_back(std::move(partial_));
      partial_.clear();
    }
  }
  return lines_.size();
}

int ChildProcess::Wait() {
  if (pid_ < 0) return -1;
  while (out_ >= 0) ReadLines(lines_.size() + 1, std::chrono::hours(1));
  int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

int ChildProcess::Kill() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGKILL);
  return Wait();
}

ServerProcess::ServerProcess(const fs::path& data_dir, const std::vector<std::string>& extra_args, int port,
                             const std::vector<std::string>& environment) {
  fs::path port_file = data_dir.parent_path() / ("server-port-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
  fs::remove(port_file);  // an earlier server at this address may have left one
  log_ = port_file.string() + ".log";
  std::vector<std::string> args = {ServerBinary(), "--data_dir=" + data_dir.string(),
                                   "--listen=127.0.0.1:" + std::to_string(port), "--port_file=" + port_file.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  if (!environment.empty()) {
    args.insert(args.begin(), environment.begin(), environment.end());
    args.insert(args.begin(), "/usr/bin/env");  // which execs the server in its own place (same pid)
  }
  pid_ = Spawn(args, "/dev/null", log_.string() + ".out", log_);
  if (pid_ < 0) return;
  if (WaitForFile(port_file, std::chrono::seconds(20))) {
    port_ = std::atoi(ReadFile(port_file).c_str());
  }
}

ServerProcess::~ServerProcess() { Stop(); }

void ServerProcess::Signal(int signal_number) const {
  if (pid_ >= 0) kill(pid_, signal_number);
}

int ServerProcess::Stop() {
  if (pid_ < 0) return -1;
  kill(pid_, SIGTERM);
  int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

int ServerProcess::Wait() {
  if (pid_ < 0) return -1;
  int code = WaitExit(pid_);
  pid_ = -1;
  return code;
}

void ServerProcess::Kill() {
  if (pid_ < 0) return;
  kill(pid_, SIGKILL);
  WaitExit(pid_);
  pid_ = -1;
}

std::string ServerBinary() { return PREDSTORE_SERVER_BIN; }
std::string LoaderBinary() { return PREDSTORE_LOADER_BIN; }
std::string CliBinary() { return PREDSTORE_CLI_BIN; }

}  // namespace predstore::testing
