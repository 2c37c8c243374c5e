// Test helpers: temp dirs, child processes, real git repositories, TLS
// material generated per run, a recording HTTP server and a CONNECT proxy.
// Everything listens on 127.0.0.1 with ports chosen by the kernel.
#pragma once

#include "core/net/http_server.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pulse::test {

namespace fs = std::filesystem;

/// A fresh directory, removed with everything in it at scope exit.
struct TempDir {
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path path;
  std::string str(const std::string& child = "") const { return (child.empty() ? path : path / child).string(); }
};

/// The collector database a test uses: an SQLite file in a temp dir, or,
/// when PULSE_TEST_STORE=postgresql, a fresh database created on the server
/// that $PULSE_TEST_POSTGRES points at (a URI whose role may CREATE
/// DATABASE), dropped at scope exit. CTest runs the collector's tests both
/// ways.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  const std::string& db() const { return db_; }  ///< file path or postgresql:// URI
  bool postgres() const { return !name_.empty(); }
  /// Runs SQL on this database (PostgreSQL only).
  void exec(const std::string& sql) const;
  /// PostgreSQL only: refuses (and ends) every connection to this database,
  /// as if its server were down for the collector, or allows them again.
  void allow_connections(bool allow) const;

 private:
  TempDir dir_;
  std::string db_, name_;
};

/// PULSE_TEST_STORE=postgresql.
bool testing_postgres();

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& content);

/// Paths given by the build.
std::string cli_bin();
std::string collector_bin();
/// The project's checkout (for files the tests use as shipped: manifests, templates).
fs::path source_dir();
/// ../shared beside the project (fixtures, bench tools); throws a message
/// that names it and CONTRIBUTING.md when it is missing.
fs::path shared_dir();

/// Polls `done` until it holds or `limit` passes; answers whether it held.
/// Tests wait for what they expect with this, never with a sleep (and
/// "nothing happened" is checked after a positive sign that the work is
/// over, not after a pause).
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(15));

struct ProcessResult {
  int exit_code = -1;  ///< -1 if killed by a signal
  std::string out;
  std::string err;
};

using EnvOverrides = std::map<std::string, std::string>;

/// Runs a program to completion (killed after `timeout`). The child's
/// environment is ours minus PULSE_*, proxy and CI variables, plus `env`.
ProcessResult run_process(const std::vector<std::string>& argv, const EnvOverrides& env = {},
                          const std::string& cwd = "", std::chrono::seconds timeout = std::chrono::seconds(60));

/// A child process running in the background; killed (SIGKILL) and reaped
/// by the destructor if still running.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const EnvOverrides& env = {}, const std::string& cwd = "");
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  /// Waits until stderr contains `text`; returns the stderr so far. Throws on timeout or exit.
  std::string wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string stderr_text() const;
  void signal(int sig);
  /// Waits for exit (after a signal): exit code, or -1 if killed. Throws on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  TempDir logs_;
  bool reaped_ = false;
};

/// `pulse-collector serve` on 127.0.0.1 and a free port, with its database in
/// `db` (a temp dir of its own if empty).
class CollectorProcess {
 public:
  explicit CollectorProcess(std::vector<std::string> extra_args = {}, std::string db = "",
                            const EnvOverrides& env = {});
  std::uint16_t port() const { return port_; }
  std::string url() const;  ///< http(s)://127.0.0.1:PORT
  const std::string& db() const { return db_; }
  Background& process() { return *proc_; }
  void kill9();

 private:
  TempDir dir_;
  std::unique_ptr<TestDatabase> own_db_;  // when no db was given
  std::string db_;
  bool tls_ = false;
  std::uint16_t port_ = 0;
  std::unique_ptr<Background> proc_;
};

/// A CA and a server certificate for 127.0.0.1 / localhost, made with the
/// openssl command for this test run; plus an unrelated CA.
struct TlsMaterial {
  TlsMaterial();
  TempDir dir;
  std::string ca_pem, server_pem, server_key, other_ca_pem;
};

/// A git repository in a temp dir, driven by the real git command.
/// Commits get fixed author/committer dates, so SHAs are reproducible.
class GitRepo {
 public:
  GitRepo();
  const fs::path& path() const { return dir_.path; }
  std::string dir() const { return dir_.str(); }
  /// Runs git in the repo; throws with git's stderr on failure. Returns stdout, trimmed.
  std::string git(const std::vector<std::string>& args, const EnvOverrides& env = {});
  /// Writes `file` (creating folders) and commits it. Returns the commit SHA.
  std::string commit(const std::string& file, const std::string& content, std::int64_t committer_time,
                     std::int64_t author_time = 0);
  /// `git log --format=%H RANGE [-- PATHS]`, one SHA per element.
  std::vector<std::string> log(const std::string& range, const std::vector<std::string>& paths = {});

 private:
  TempDir dir_;
  int counter_ = 0;
};

/// An in-process HTTP(S) server that records every request and answers with
/// `respond(n, request)` (n counts from 0).
class RecordingServer {
 public:
  using Responder = std::function<ServerResponse(int n, const ServerRequest&)>;
  explicit RecordingServer(Responder respond, ServerOptions options = {});
  ~RecordingServer();
  std::uint16_t port() const { return server_->port(); }
  std::string url() const;
  std::vector<ServerRequest> requests() const;

 private:
  mutable std::mutex mutex_;
  std::vector<ServerRequest> requests_;
  Responder respond_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  bool tls_;
};

/// A forward proxy on 127.0.0.1: CONNECT tunnels and absolute-form HTTP to
/// loopback, where any host under "pulse.test" stands for 127.0.0.1 (clients
/// never proxy loopback addresses themselves). TlsMaterial's server
/// certificate names collector.pulse.test.
class TestProxy {
 public:
  TestProxy();
  ~TestProxy();
  std::uint16_t port() const { return port_; }
  int tunnels() const { return tunnels_; }    ///< CONNECT requests served
  int forwards() const { return forwards_; }  ///< plain HTTP requests forwarded
  std::string last_request_line() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  std::atomic<int> tunnels_{0}, forwards_{0};
};

/// Parses the Go CLI's captured requests (shared/fixtures/wire).
struct CapturedRequest {
  std::string request_line;  ///< "POST /v1/ingestion/cli?api_key=K&system=S HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
struct CapturedBlock {
  std::string title;
  std::string command;  ///< the command line after "$ "
  std::vector<CapturedRequest> requests;
  int exit_code = 0;
};
std::vector<CapturedBlock> parse_wire_capture(const fs::path& file);

}  // namespace pulse::test
