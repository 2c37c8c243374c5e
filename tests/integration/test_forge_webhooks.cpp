// The forges' push webhooks on the real collector, with payloads nobody here
// wrote: GitHub's from @octokit/webhooks-examples signed by
// @octokit/webhooks-methods (npm, tests/tools), GitLab's, Forgejo's and
// Bitbucket Cloud's from their documentation or a real delivery
// (tests/fixtures/forges/README.md) signed by the openssl command.
#include "cli_helpers.hpp"

#include "core/net/http_client.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

fs::path tools_dir() { return source_dir() / "tests" / "tools" / "node_modules" / "@octokit"; }
fs::path fixture(const std::string& name) { return source_dir() / "tests" / "fixtures" / "forges" / name; }

// GitHub's own examples of each event, by event name.
json::array github_examples(const std::string& event) {
  const fs::path index = tools_dir() / "webhooks-examples" / "api.github.com" / "index.json";
  BOOST_TEST_REQUIRE(fs::exists(index), index.string() + " is missing: scripts/test-services.sh installs tests/tools");
  const json::value all = json::parse(read_file(index));
  for (const auto& e : all.as_array())
    if (e.at("name").as_string() == event) return e.at("examples").as_array();
  BOOST_FAIL("no GitHub example of " + event);
  return {};
}

// X-Hub-Signature-256 values as @octokit/webhooks-methods' sign() makes them, one per body.
std::vector<std::string> octokit_signatures(const std::string& secret, const std::vector<std::string>& bodies) {
  TempDir dir;
  std::string list = "[";
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    write_file(dir.path / std::to_string(i), bodies[i]);
    list += (i ? "," : "") + json::serialize(json::value((dir.path / std::to_string(i)).string()));
  }
  list += "]";
  const std::string script =
      "import {sign} from " +
      json::serialize(json::value((tools_dir() / "webhooks-methods" / "dist-node" / "index.js").string())) +
      "; import {readFileSync} from 'fs';"
      "for (const f of " +
      list + ") console.log(await sign(" + json::serialize(json::value(secret)) + ", readFileSync(f, 'utf8')));";
  const auto r = run_process({"node", "--input-type=module", "-e", script});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  BOOST_TEST_REQUIRE(out.size() == bodies.size());
  return out;
}

// The hex HMAC-SHA256 of `body` as the openssl command computes it.
std::string openssl_hmac(const std::string& secret, const std::string& body) {
  TempDir dir;
  write_file(dir.path / "body", body);
  const auto r = run_process({"openssl", "dgst", "-sha256", "-hmac", secret, (dir.path / "body").string()});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  return trim(r.out.substr(r.out.rfind(' ') + 1));
}

struct Answer {
  int status = 0;
  std::string body;
};

class Forges {
 public:
  explicit Forges(bool bitbucket = true) : collector_(with_secrets(bitbucket)) {
    std::string why;
    client_ = std::make_unique<HttpClient>(*parse_origin(collector_.url(), why), ClientOptions{});
  }

  Answer post(const std::string& target, const std::string& body, std::vector<Header> headers, bool json_type = true) {
    if (json_type) headers.push_back({"Content-Type", "application/json"});
    const auto r = client_->send(HttpRequest{"POST", target, std::move(headers), body});
    if (const auto* f = std::get_if<TransportFailure>(&r)) throw std::runtime_error(f->message());
    const auto& res = std::get<HttpResponse>(r);
    return {res.status, res.body};
  }

  // The stored changes: id -> (system, source, time_created, time_pushed).
  json::array changes() {
    const auto r = client_->send(HttpRequest{"GET", "/v1/events?type=change&limit=1000&api_key=K", {}, ""});
    return json::parse(std::get<HttpResponse>(r).body).at("events").as_array();
  }
  const json::object* change(const std::string& id) {
    static thread_local json::array last;
    last = changes();
    for (const auto& e : last)
      if (e.at("id").as_string() == id) return &e.as_object();
    return nullptr;
  }

  void write_secret(const std::string& forge, const std::string& content) { write_file(dir_.path / forge, content); }
  CollectorProcess& collector() { return collector_; }

 private:
  std::vector<std::string> with_secrets(bool bitbucket) {
    write_file(dir_.path / "github", "gh-secret\n");
    write_file(dir_.path / "gitlab", "gl-token\n");
    write_file(dir_.path / "gitea", "# comments and blank lines are skipped\n\nforgejo-secret\n");
    write_file(dir_.path / "bitbucket", "bb-secret\n");
    std::vector<std::string> args = {"--api-key",
                                     "K",
                                     "--github-webhook-secret-file",
                                     (dir_.path / "github").string(),
                                     "--gitlab-webhook-token-file",
                                     (dir_.path / "gitlab").string(),
                                     "--gitea-webhook-secret-file",
                                     (dir_.path / "gitea").string()};
    if (bitbucket) args.insert(args.end(), {"--bitbucket-webhook-secret-file", (dir_.path / "bitbucket").string()});
    return args;
  }

  TempDir dir_;  // before the collector, which reads it
  CollectorProcess collector_;
  std::unique_ptr<HttpClient> client_;
};

std::string time_of(const json::object& e, const char* field) {
  return e.at(field).is_null() ? "null" : std::string(e.at(field).as_string());
}

constexpr const char* kGitHub = "/v1/ingestion/github?api_key=K";

}  // namespace

BOOST_AUTO_TEST_SUITE(forge_webhooks)

BOOST_AUTO_TEST_CASE(github_examples_signed_by_octokit) {
  Forges forges;
  // Every push example, the ping and three other events GitHub sends, as GitHub signs them.
  std::vector<std::pair<std::string, std::string>> deliveries;  // event, body
  for (const auto& e : github_examples("push")) deliveries.emplace_back("push", json::serialize(e));
  for (const char* other : {"ping", "issues", "pull_request", "create"})
    deliveries.emplace_back(other, json::serialize(github_examples(other).at(0)));
  std::vector<std::string> bodies;
  for (const auto& d : deliveries) bodies.push_back(d.second);
  const auto signatures = octokit_signatures("gh-secret", bodies);

  int stored = 0, duplicates = 0, ignored = 0;
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const auto a = forges.post(kGitHub, deliveries[i].second,
                               {{"X-GitHub-Event", deliveries[i].first},
                                {"X-GitHub-Delivery", "d-" + std::to_string(i)},
                                {"X-Hub-Signature-256", signatures[i]}});
    BOOST_TEST_REQUIRE(a.status == 200, deliveries[i].first + ": " + a.body);
    const auto o = json::parse(a.body).as_object();
    stored += static_cast<int>(o.at("stored").as_int64());
    duplicates += static_cast<int>(o.at("duplicates").as_int64());
    ignored += o.contains("ignored") ? 1 : 0;
  }
  // Two branch pushes of one commit (stored once, with its commit and push
  // times), five tag pushes and deletions, four other events.
  BOOST_TEST(stored == 1);
  BOOST_TEST(duplicates == 1);
  BOOST_TEST(ignored == 9);

  const auto* c = forges.change("6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  BOOST_TEST_REQUIRE(c);
  BOOST_TEST(c->at("system").as_string() == "Codertocat/Hello-World");
  BOOST_TEST(c->at("source").as_string() == "github");
  BOOST_TEST(time_of(*c, "time_created") == "2019-05-15T15:19:25Z");     // the commit's timestamp
  BOOST_TEST(time_of(*c, "time_pushed") == format_rfc3339(1557933657));  // repository.pushed_at
  BOOST_TEST(forges.changes().size() == 1u);

  // A redelivery (GitHub's "Redeliver") stores nothing again.
  const auto again =
      forges.post(kGitHub, bodies[4],
                  {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "d-4"}, {"X-Hub-Signature-256", signatures[4]}});
  BOOST_TEST(again.body == R"({"stored":0,"duplicates":1})");
}

BOOST_AUTO_TEST_CASE(what_is_refused_and_why) {
  Forges forges(/*bitbucket=*/false);
  const std::string body = json::serialize(github_examples("push").at(4));
  const std::string good = "sha256=" + openssl_hmac("gh-secret", body);
  const Header push{"X-GitHub-Event", "push"};
  auto refused = [&](const std::string& target, const std::string& b, std::vector<Header> h, int status,
                     const std::string& says, bool json_type = true) {
    const auto a = forges.post(target, b, std::move(h), json_type);
    BOOST_TEST(a.status == status, target + " -> " + std::to_string(a.status) + " " + a.body);
    BOOST_TEST(a.body.find(says) != std::string::npos, a.body);
  };
  // The API key holds first, as on every ingestion route; then the forge's signature.
  refused("/v1/ingestion/github", body, {push, {"X-Hub-Signature-256", good}}, 401, "API key");
  refused(kGitHub, body, {push}, 401, "missing X-Hub-Signature-256");
  refused(kGitHub, body, {push, {"X-Hub-Signature-256", "sha256=" + openssl_hmac("other", body)}}, 401,
          "does not match");
  refused(kGitHub, body, {push, {"X-Hub-Signature-256", good.substr(0, 20)}}, 401, "does not match");
  refused(kGitHub, body + " ", {push, {"X-Hub-Signature-256", good}}, 401, "does not match");  // body changed
  // Signed but not what a push is.
  const std::string broken = R"({"ref":"refs/heads/main","repository":{"full_name":"o/r"},"commits":[{"id":"nope"}]})";
  refused(kGitHub, broken, {push, {"X-Hub-Signature-256", "sha256=" + openssl_hmac("gh-secret", broken)}}, 400,
          "commits[0].id: not a commit id");
  const std::string not_json = "{\"ref\":";
  refused(kGitHub, not_json, {push, {"X-Hub-Signature-256", "sha256=" + openssl_hmac("gh-secret", not_json)}}, 400,
          "body:");
  refused(kGitHub, body, {{"X-Hub-Signature-256", good}}, 400, "missing X-GitHub-Event");
  refused(kGitHub, body, {push, {"X-Hub-Signature-256", good}, {"Content-Type", "application/x-www-form-urlencoded"}},
          415, "application/json", false);
  // ?system= holds to the stored-text rule (the SQLite collector decodes on its async path).
  refused(kGitHub + std::string("&system=%1b%5b31m"), body, {push, {"X-Hub-Signature-256", good}}, 400, "system:");
  // A forge whose secret was not given: its route is off.
  refused("/v1/ingestion/bitbucket?api_key=K", "{}", {{"X-Event-Key", "repo:push"}}, 404,
          "--bitbucket-webhook-secret-file");
  // Over the body limit (8 MiB): 413 from the server, before anything is read.
  refused(kGitHub, std::string(9 << 20, ' '), {push, {"X-Hub-Signature-256", good}}, 413, "");
  BOOST_TEST(forges.changes().empty());
}

BOOST_AUTO_TEST_CASE(gitlab_forgejo_and_bitbucket_payloads) {
  Forges forges;
  const auto before = unix_now();
  // GitLab: its token, as sent, in X-Gitlab-Token.
  const std::string gitlab = read_file(fixture("gitlab-push.json"));
  const std::string gl = "/v1/ingestion/gitlab?api_key=K";
  BOOST_TEST(forges.post(gl, gitlab, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "wrong"}}).status == 401);
  BOOST_TEST(forges.post(gl, gitlab, {{"X-Gitlab-Event", "Push Hook"}}).status == 401);
  auto a = forges.post(gl, gitlab, {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", "gl-token"}});
  BOOST_TEST(a.body == R"({"stored":2,"duplicates":0})", a.body);
  a = forges.post(gl, read_file(fixture("gitlab-tag-push.json")),
                  {{"X-Gitlab-Event", "Tag Push Hook"}, {"X-Gitlab-Token", "gl-token"}});
  BOOST_TEST(a.status == 200);
  BOOST_TEST(a.body.find("\"ignored\"") != std::string::npos, a.body);

  // Forgejo and Gitea: the hex HMAC, under either name.
  const std::string forgejo = read_file(fixture("forgejo-push.json"));
  const std::string ge = "/v1/ingestion/gitea?api_key=K";
  const std::string sig = openssl_hmac("forgejo-secret", forgejo);
  BOOST_TEST(
      forges.post(ge, forgejo, {{"X-Forgejo-Event", "push"}, {"X-Forgejo-Signature", sig.substr(1) + "0"}}).status ==
      401);
  a = forges.post(ge, forgejo, {{"X-Forgejo-Event", "push"}, {"X-Forgejo-Signature", sig}});
  BOOST_TEST(a.body == R"({"stored":1,"duplicates":0})", a.body);
  a = forges.post(ge, forgejo, {{"X-Gitea-Event", "push"}, {"X-Gitea-Signature", sig}});
  BOOST_TEST(a.body == R"({"stored":0,"duplicates":1})", a.body);

  // Bitbucket Cloud: "sha256=" and the HMAC in X-Hub-Signature; five commits listed.
  const std::string bitbucket = read_file(fixture("bitbucket-cloud-push.json"));
  const std::string bb = "/v1/ingestion/bitbucket?api_key=K";
  a = forges.post(
      bb, bitbucket,
      {{"X-Event-Key", "repo:push"}, {"X-Hub-Signature", "sha256=" + openssl_hmac("bb-secret", bitbucket)}});
  BOOST_TEST(a.body == R"({"stored":5,"duplicates":0})", a.body);
  const auto after = unix_now();

  // Each under its repository's full name, pushed when the forge sent it.
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> expected = {
      {"b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "mike/diaspora", "gitlab", "2011-12-12T12:27:31Z"},
      {"da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "mike/diaspora", "gitlab", "2012-01-03T21:36:29Z"},
      {"bffeb74224043ba2feb48d137756c8a9331c449a", "forgejo/webhooks", "gitea", "2017-03-13T17:52:11Z"},
      {"6ca0691239785a619fa1dce7bf1073f50499cd60", "arolgroup/j0664-ns2-firmware", "bitbucket", "2023-05-12T11:45:45Z"},
      {"c85743d9d976ebb1edf7c6fd4858cba064cc446d", "arolgroup/j0664-ns2-firmware", "bitbucket", "2023-05-05T20:00:16Z"},
  };
  for (const auto& [id, system, source, committed] : expected) {
    const auto* c = forges.change(id);
    BOOST_TEST_REQUIRE(c, id);
    BOOST_TEST(c->at("system").as_string() == system);
    BOOST_TEST(c->at("source").as_string() == source);
    BOOST_TEST(time_of(*c, "time_created") == committed);
    const auto pushed = parse_rfc3339(time_of(*c, "time_pushed"));
    BOOST_TEST_REQUIRE(pushed.has_value());
    BOOST_TEST((*pushed >= before && *pushed <= after), id + " pushed at " + time_of(*c, "time_pushed"));
  }
  BOOST_TEST(forges.changes().size() == 8u);
}

BOOST_AUTO_TEST_CASE(the_earliest_push_wins_whichever_source_told_it) {
  Forges forges;
  const std::string sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
  const std::string other = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";
  // The hook told an earlier push of one commit, a later push of another.
  for (const auto& [id, t] : std::vector<std::pair<std::string, std::int64_t>>{{sha, 1557900000}, {other, 1557990000}})
    BOOST_TEST_REQUIRE(forges
                           .post("/v1/ingestion/cli?api_key=K&system=Codertocat/Hello-World",
                                 encode_body(Change{"cli", id, t, "push"}), {})
                           .status == 200);
  // GitHub's push of both, at 1557933657.
  auto example = github_examples("push").at(4).as_object();
  auto commits = example.at("commits").as_array();
  auto second = commits.at(0).as_object();
  second["id"] = other;
  commits.push_back(second);
  example["commits"] = commits;
  const std::string body = json::serialize(example);
  const auto a = forges.post(
      kGitHub, body, {{"X-GitHub-Event", "push"}, {"X-Hub-Signature-256", octokit_signatures("gh-secret", {body})[0]}});
  BOOST_TEST(a.status == 200, a.body);
  BOOST_TEST(time_of(*forges.change(sha), "time_pushed") == format_rfc3339(1557900000));    // the hook's, earlier
  BOOST_TEST(time_of(*forges.change(other), "time_pushed") == format_rfc3339(1557933657));  // GitHub's, earlier
}

BOOST_AUTO_TEST_CASE(secrets_are_reloaded_on_sighup) {
  Forges forges;
  const std::string gitlab = read_file(fixture("gitlab-push.json"));
  const std::string gl = "/v1/ingestion/gitlab?api_key=K";
  const Header event{"X-Gitlab-Event", "Push Hook"};
  // Rotated: the new token works, the old one no longer does.
  forges.write_secret("gitlab", "gl-token-2\n");
  forges.collector().process().signal(SIGHUP);
  BOOST_TEST_REQUIRE(wait_until([&] {
    return forges.post(gl, gitlab, {event, {"X-Gitlab-Token", "gl-token-2"}}).status == 200;
  }));
  BOOST_TEST(forges.post(gl, gitlab, {event, {"X-Gitlab-Token", "gl-token"}}).status == 401);
  // Emptied: the running token stays, with a warning; the route never opens.
  forges.write_secret("gitlab", "\n");
  forges.collector().process().signal(SIGHUP);
  forges.collector().process().wait_for_stderr("--gitlab-webhook-token-file gives no secret");
  BOOST_TEST(forges.post(gl, gitlab, {event, {"X-Gitlab-Token", "gl-token-2"}}).status == 200);
  BOOST_TEST(forges.post(gl, gitlab, {event}).status == 401);
  // Never in the log.
  const std::string log = forges.collector().process().stderr_text();
  for (const char* secret : {"gl-token", "gh-secret", "forgejo-secret", "bb-secret"})
    BOOST_TEST(log.find(secret) == std::string::npos, secret);
  BOOST_TEST(log.find("GitLab push webhook: http://127.0.0.1:") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
