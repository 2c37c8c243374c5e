#include "support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/streambuf.hpp>

#include <libpq-fe.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pulse::test {

// ---- files ------------------------------------------------------------------

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "pulse-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
}

std::string cli_bin() { return PULSE_TEST_CLI_BIN; }
std::string collector_bin() { return PULSE_TEST_COLLECTOR_BIN; }
fs::path source_dir() { return PULSE_TEST_SOURCE_DIR; }
fs::path shared_dir() {
  const auto dir = (fs::path(PULSE_TEST_SOURCE_DIR) / ".." / "shared").lexically_normal();
  if (!fs::is_directory(dir / "fixtures") || !fs::is_directory(dir / "bench"))
    throw std::runtime_error("this test needs the shared test data beside the checkout, " + dir.string() +
                             " (fixtures/ and bench/), and it is not there: see CONTRIBUTING.md, \"Test data\"");
  return dir;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// ---- processes --------------------------------------------------------------

namespace {

bool scrubbed(std::string_view kv) {
  static constexpr std::string_view kDrop[] = {
      "PULSE_",    "HTTP_PROXY=", "HTTPS_PROXY=", "http_proxy=", "https_proxy=", "NO_PROXY=",
      "no_proxy=", "CI=",         "GITHUB_",      "GITLAB_CI=",  "XDG_"};
  for (auto p : kDrop)
    if (kv.starts_with(p)) return true;
  return false;
}

int spawn(const std::vector<std::string>& argv, const EnvOverrides& env, const std::string& cwd,
          const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    const auto name = kv.substr(0, kv.find('='));
    if (scrubbed(kv) || env.count(std::string(name))) continue;
    env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Returns true and sets `code` once the child exited.
bool try_reap(int pid, int& code, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return true;
    }
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const EnvOverrides& env, const std::string& cwd,
                          std::chrono::seconds timeout) {
  TempDir logs;
  const int pid = spawn(argv, env, cwd, logs.str("out"), logs.str("err"));
  ProcessResult r;
  if (!try_reap(pid, r.exit_code, timeout)) {
    kill(pid, SIGKILL);
    try_reap(pid, r.exit_code, std::chrono::seconds(5));
    throw std::runtime_error(argv[0] + " did not finish within the test's time limit");
  }
  r.out = read_file(logs.path / "out");
  r.err = read_file(logs.path / "err");
  return r;
}

Background::Background(const std::vector<std::string>& argv, const EnvOverrides& env, const std::string& cwd) {
  pid_ = spawn(argv, env, cwd, logs_.str("out"), logs_.str("err"));
}

Background::~Background() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    int code;
    try_reap(pid_, code, std::chrono::seconds(5));
  }
}

std::string Background::stderr_text() const { return read_file(logs_.path / "err"); }

std::string Background::wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string s = stderr_text();
    if (s.find(text) != std::string::npos) return s;
    int code;
    if (!reaped_ && try_reap(pid_, code, std::chrono::milliseconds(0))) {
      reaped_ = true;
      throw std::runtime_error("process exited (" + std::to_string(code) + ") before printing \"" + text + "\": " + s);
    }
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("timed out waiting for \"" + text + "\": " + s);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Background::signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

int Background::wait(std::chrono::milliseconds timeout) {
  int code = -1;
  if (!try_reap(pid_, code, timeout)) throw std::runtime_error("process did not exit in time");
  reaped_ = true;
  return code;
}

// ---- test databases -----------------------------------------------------------

bool testing_postgres() {
  const char* store = std::getenv("PULSE_TEST_STORE");
  return store && std::string(store) == "postgresql";
}

namespace {

std::string admin_uri() {
  const char* uri = std::getenv("PULSE_TEST_POSTGRES");
  if (!uri || !*uri)
    throw std::runtime_error(
        "PULSE_TEST_STORE=postgresql but PULSE_TEST_POSTGRES is not set: give a postgresql:// URI whose role may "
        "create databases (scripts/test.sh sets one up)");
  return uri;
}

void admin_exec(const std::string& uri, const std::string& sql) {
  PGconn* c = PQconnectdb(uri.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test PostgreSQL: cannot connect: " + msg);
  }
  PGresult* r = PQexec(c, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  const std::string msg = ok ? "" : PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error("test PostgreSQL: " + sql + ": " + msg);
}

// The admin URI with its database name replaced.
std::string with_database(const std::string& uri, const std::string& name) {
  const auto authority = uri.find("://") + 3;
  const auto query = uri.find('?', authority);
  auto slash = uri.find('/', authority);
  if (slash == std::string::npos || (query != std::string::npos && slash > query))
    slash = query == std::string::npos ? uri.size() : query;
  const auto rest = query == std::string::npos ? std::string() : uri.substr(query);
  return uri.substr(0, slash) + "/" + name + rest;
}

}  // namespace

TestDatabase::TestDatabase() {
  if (!testing_postgres()) {
    db_ = dir_.str("collector.db");
    return;
  }
  static std::atomic<int> counter{0};
  std::random_device rd;
  name_ = "pulse_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(rd() % 100000);
  admin_exec(admin_uri(), "CREATE DATABASE " + name_);
  db_ = with_database(admin_uri(), name_);
}

TestDatabase::~TestDatabase() {
  if (name_.empty()) return;
  try {
    admin_exec(admin_uri(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

void TestDatabase::exec(const std::string& sql) const { admin_exec(db_, sql); }

void TestDatabase::allow_connections(bool allow) const {
  admin_exec(admin_uri(), "ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS " + (allow ? "true" : "false"));
  if (!allow)
    admin_exec(admin_uri(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ + "'");
}

CollectorProcess::CollectorProcess(std::vector<std::string> extra_args, std::string db, const EnvOverrides& env) {
  if (db.empty()) {
    own_db_ = std::make_unique<TestDatabase>();
    db = own_db_->db();
  }
  db_ = std::move(db);
  std::vector<std::string> argv = {collector_bin(), "serve", "--port", "0", "--db", db_};
  for (auto& a : extra_args) {
    if (a == "--tls-cert") tls_ = true;
    argv.push_back(std::move(a));
  }
  proc_ = std::make_unique<Background>(argv, env);
  std::string log = proc_->wait_for_stderr(" listening on ");
  for (int i = 0; log.find('\n', log.find(" listening on ")) == std::string::npos && i < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    log = proc_->stderr_text();
  }
  const auto colon = log.find(':', log.find("://") + 3);
  port_ = static_cast<std::uint16_t>(std::stoi(log.substr(colon + 1)));
}

std::string CollectorProcess::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void CollectorProcess::kill9() {
  proc_->signal(SIGKILL);
  proc_->wait();
}

// ---- TLS --------------------------------------------------------------------

TlsMaterial::TlsMaterial() {
  const std::string d = dir.str();
  write_file(dir.path / "san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:collector.pulse.test\n");
  const std::string script =
      "set -e; cd '" + d +
      "';"
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
      "-days 2 -subj '/CN=Pulse Test CA' 2>/dev/null;"
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.pem "
      "-days 2 -subj '/CN=Other CA' 2>/dev/null;"
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr "
      "-subj '/CN=127.0.0.1' 2>/dev/null;"
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
      "-extfile san.ext 2>/dev/null";
  const auto r = run_process({"sh", "-c", script});
  if (r.exit_code != 0) throw std::runtime_error("generating test certificates failed: " + r.err);
  ca_pem = d + "/ca.pem";
  server_pem = d + "/server.pem";
  server_key = d + "/server.key";
  other_ca_pem = d + "/other.pem";
}

// ---- git --------------------------------------------------------------------

GitRepo::GitRepo() { git({"init", "-q", "-b", "main"}); }

std::string GitRepo::git(const std::vector<std::string>& args, const EnvOverrides& env) {
  std::vector<std::string> argv = {"git",
                                   "-c",
                                   "user.name=Pulse Test",
                                   "-c",
                                   "user.email=test@example.com",
                                   "-c",
                                   "commit.gpgsign=false",
                                   "-c",
                                   "init.defaultBranch=main"};
  argv.insert(argv.end(), args.begin(), args.end());
  EnvOverrides e = env;
  e.emplace("GIT_CONFIG_NOSYSTEM", "1");
  e.emplace("HOME", dir_.str());
  const auto r = run_process(argv, e, dir_.str());
  if (r.exit_code != 0) throw std::runtime_error("git failed: " + r.err);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string GitRepo::commit(const std::string& file, const std::string& content, std::int64_t committer_time,
                            std::int64_t author_time) {
  write_file(dir_.path / file, content);
  git({"add", "--", file});
  const std::string ct = "@" + std::to_string(committer_time) + " +0000";
  const std::string at = "@" + std::to_string(author_time ? author_time : committer_time) + " +0000";
  git({"commit", "-q", "--allow-empty", "-m", "commit " + std::to_string(++counter_) + " " + file},
      {{"GIT_AUTHOR_DATE", at}, {"GIT_COMMITTER_DATE", ct}});
  return git({"rev-parse", "HEAD"});
}

std::vector<std::string> GitRepo::log(const std::string& range, const std::vector<std::string>& paths) {
  std::vector<std::string> args = {"log", "--format=%H", range};
  if (!paths.empty()) {
    args.push_back("--");
    args.insert(args.end(), paths.begin(), paths.end());
  }
  std::vector<std::string> out;
  std::istringstream in(git(args));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

// ---- recording server ---------------------------------------------------------

RecordingServer::RecordingServer(Responder respond, ServerOptions options)
    : respond_(std::move(respond)), tls_(!options.tls_cert.empty()) {
  options.bind = "127.0.0.1";
  options.port = 0;
  server_ = std::make_unique<HttpServer>(options, [this](const ServerRequest& r) {
    int n;
    {
      std::lock_guard lock(mutex_);
      n = static_cast<int>(requests_.size());
      requests_.push_back(r);
    }
    return respond_(n, r);
  });
  thread_ = std::thread([this] { server_->run(); });
}

RecordingServer::~RecordingServer() {
  server_->stop();
  thread_.join();
}

std::string RecordingServer::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::vector<ServerRequest> RecordingServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

// ---- proxy ------------------------------------------------------------------

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct TestProxy::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread accept_thread;
  std::mutex mutex;
  std::vector<std::thread> workers;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::string last_line;
  std::atomic<bool> stopping{false};

  void track(const std::shared_ptr<tcp::socket>& s) {
    std::lock_guard lock(mutex);
    sockets.push_back(s);
  }

  static void pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
    char buf[16384];
    boost::system::error_code ec;
    for (;;) {
      const std::size_t n = from->read_some(asio::buffer(buf), ec);
      if (ec || n == 0) break;
      asio::write(*to, asio::buffer(buf, n), ec);
      if (ec) break;
    }
    to->shutdown(tcp::socket::shutdown_send, ec);
  }

  void serve(std::shared_ptr<tcp::socket> client, TestProxy& owner) {
    boost::system::error_code ec;
    asio::streambuf head;
    asio::read_until(*client, head, "\r\n\r\n", ec);
    if (ec) return;
    std::string data(asio::buffers_begin(head.data()), asio::buffers_end(head.data()));
    const std::string line = data.substr(0, data.find("\r\n"));
    {
      std::lock_guard lock(mutex);
      last_line = line;
    }
    std::istringstream ls(line);
    std::string method, target;
    ls >> method >> target;
    std::string authority = target;
    const bool connect = method == "CONNECT";
    if (!connect) {  // "http://host:port/path"
      authority = target.substr(7);
      authority = authority.substr(0, authority.find('/'));
    }
    const auto colon = authority.rfind(':');
    const std::string host = authority.substr(0, colon);
    const std::string port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
    // Loopback only, whatever the test asks; names under pulse.test (a
    // reserved name, never resolved) stand for 127.0.0.1, since clients
    // send loopback addresses directly.
    if (host != "127.0.0.1" && host != "localhost" && !host.ends_with(".pulse.test")) {
      asio::write(*client, asio::buffer(std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")), ec);
      return;
    }
    auto upstream = std::make_shared<tcp::socket>(ioc);
    track(upstream);
    upstream->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(port))),
                      ec);
    if (ec) {
      asio::write(*client, asio::buffer(std::string("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")), ec);
      return;
    }
    if (connect) {
      ++owner.tunnels_;
      asio::write(*client, asio::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
    } else {
      ++owner.forwards_;
      asio::write(*upstream, head.data(), ec);  // the request head, as received
    }
    std::thread back([upstream, client] { pump(upstream, client); });
    pump(client, upstream);
    back.join();
  }
};

TestProxy::TestProxy() : impl_(std::make_unique<Impl>()) {
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    for (;;) {
      auto s = std::make_shared<tcp::socket>(impl_->ioc);
      boost::system::error_code ec;
      impl_->acceptor.accept(*s, ec);
      if (ec || impl_->stopping) return;
      impl_->track(s);
      std::lock_guard lock(impl_->mutex);
      impl_->workers.emplace_back([this, s] { impl_->serve(s, *this); });
    }
  });
}

TestProxy::~TestProxy() {
  impl_->stopping = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  // Wake the blocking accept by connecting once.
  tcp::socket poke(impl_->ioc);
  poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& t : impl_->workers) t.join();
}

std::string TestProxy::last_request_line() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_line;
}

// ---- wire capture -------------------------------------------------------------

std::vector<CapturedBlock> parse_wire_capture(const fs::path& file) {
  std::istringstream in(read_file(file));
  std::vector<CapturedBlock> blocks;
  std::string line;
  CapturedRequest* req = nullptr;
  enum { none, head, body } state = none;
  while (std::getline(in, line)) {
    if (line.starts_with("### $ ")) {
      blocks.back().command = line.substr(6);
      continue;
    }
    if (line.starts_with("### exit=")) {
      blocks.back().exit_code = std::stoi(line.substr(9));
      state = none;
      continue;
    }
    if (line.starts_with("### ")) {
      blocks.push_back({line.substr(4), "", {}, 0});
      state = none;
      continue;
    }
    if (line.starts_with("--- request ")) {
      blocks.back().requests.emplace_back();
      req = &blocks.back().requests.back();
      state = head;
      continue;
    }
    if (state == head) {
      if (line.empty()) {
        state = body;
      } else if (req->request_line.empty()) {
        req->request_line = line;
      } else {
        const auto colon = line.find(": ");
        req->headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
      }
      continue;
    }
    if (state == body) {
      if (!line.empty()) req->body = line;
      state = none;
    }
  }
  return blocks;
}

}  // namespace pulse::test
