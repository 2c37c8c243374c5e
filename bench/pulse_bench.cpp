// pulse-bench: load generator and timer for the collector's benchmarks
// (bench/metrics.sh). Not installed.
//
//   pulse-bench generate --db DB [--deployments N] [--systems N] [--days N] [--dora 1] [--environments N]
//       writes a deterministic history straight into a store: per deployment
//       8 or 9 changes (half with a push time), and an incident for every
//       second deployment; 100,000 deployments make 1,000,000 events. With
//       --dora 1 (bench/dora.sh): head commits, 2% rollbacks, 5% incidents,
//       9 or 10 changes a deployment (1,036,000 events). With --environments
//       N, deployments and incidents take turns over N environments.
//   pulse-bench metrics --url URL [--runs N] [--model dora]
//       times GET /v1/metrics over HTTP: the default window, the whole
//       history by week, and one system; with --model dora, in the DORA
//       model, and pages of 100 records of GET /v1/metrics/explain.
//   pulse-bench dora-export --db DB [--days N]
//       the Prometheus exporter's DORA refresh over the last N days (90):
//       its one pass over every environment, then the same figures one
//       environment at a time (the way before it); wall and CPU seconds.
//   pulse-bench scrape --url URL [--runs N]
//       times GET /metrics (Prometheus): the first scrape (which waits for
//       the DORA figures) and the rest.
//   pulse-bench fairness --url URL [--big N] [--changes M] [--seconds S]
//       N clients each post one deployment of M changes at once while one
//       client posts single events one after another: the small requests'
//       latency while the big ones are stored.
//   pulse-bench busy --url URL [--queries N] [--seconds S]
//       N clients ask for ten years of metrics by day, over and over, while
//       one client times GET /healthz and another single-event ingestion.
//   pulse-bench forge --url URL --secret S [--clients N] [--commits M] [--seconds S]
//       N clients post signed GitHub push deliveries of M new commits each,
//       one after another on a kept-alive connection, for S seconds:
//       deliveries per second and their latency (bench/forge_webhooks.sh).
//   pulse-bench range --directory DIR --previous REV
//       the range engine alone (bench/ranges.sh): resolves REV and HEAD,
//       lists the range, prints its size.
#include "core/event/event.hpp"
#include "core/git/git_range.hpp"
#include "core/net/http_client.hpp"
#include "core/util/crypto.hpp"
#include "collector/exporter.hpp"
#include "collector/store.hpp"
#include "core/util/url.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace pulse;
using BenchClock = std::chrono::steady_clock;

namespace {

// Generated history ends here: 2026-01-01T00:00:00Z.
constexpr std::int64_t kEnd = 1767225600;

std::map<std::string, std::string> flags(int argc, char** argv) {
  std::map<std::string, std::string> out;
  for (int i = 2; i + 1 < argc; i += 2) out[std::string(argv[i]).substr(2)] = argv[i + 1];
  return out;
}

long num(const std::map<std::string, std::string>& f, const std::string& k, long def) {
  const auto it = f.find(k);
  return it == f.end() ? def : std::stol(it->second);
}

int generate(const std::map<std::string, std::string>& f) {
  const long deployments = num(f, "deployments", 100'000), systems = num(f, "systems", 20), days = num(f, "days", 730);
  // --dora 1: the DORA model's mix: heads recorded, 2% rollbacks (to the
  // head two deployments back), 5% incidents, 9 or 10 changes a deployment.
  const bool dora = num(f, "dora", 0) != 0;
  const long incident_every = dora ? 20 : 2, rollback_every = dora ? 50 : 0;
  const int writers = static_cast<int>(num(f, "writers", 4));
  const std::int64_t end = num(f, "end", kEnd);  // Unix seconds
  const long environments = num(f, "environments", 1);
  const auto environment_of = [&](long d) {
    return environments > 1 ? "env-" + std::to_string((d / systems) % environments) : std::string();
  };
  auto store = collector::open_store(f.at("db"), static_cast<std::size_t>(writers));
  const std::int64_t start = end - days * 86400;
  const double step = static_cast<double>(days * 86400) / static_cast<double>(deployments);
  std::atomic<long> next{0}, events{0};
  const auto t0 = BenchClock::now();
  auto work = [&] {
    std::vector<Event> batch;
    for (long first; (first = next.fetch_add(100)) < deployments;) {
      // 100 deployments at a time, grouped by system: about 1,000 events.
      std::map<std::string, std::vector<Event>> by_system;
      for (long d = first; d < std::min(first + 100, deployments); ++d) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(d));
        const std::string system = "system-" + std::to_string(d % systems);
        const auto t = start + static_cast<std::int64_t>(static_cast<double>(d) * step);
        auto& out = by_system[system];
        Deployment dep{.source = "bench", .deploy_id = "d" + std::to_string(d), .time_created = t};
        dep.environment = environment_of(d);
        const bool rollback = rollback_every && d % rollback_every == rollback_every - 1 && d >= 2 * systems;
        if (dora) dep.head_commit = "c" + std::to_string(rollback ? d - 2 * systems : d) + "-0";
        const int changes = rollback ? 0 : dora ? (d % 2 ? 10 : 9) : (d % 2 ? 9 : 8);
        for (int c = 0; c < changes; ++c) {
          const std::string id = "c" + std::to_string(d) + "-" + std::to_string(c);
          const auto lead = static_cast<std::int64_t>(600 + rng() % (10 * 86400));
          out.push_back(Change{"bench", id, t - lead - 1800, "commit"});
          if (c % 2 == 0) out.push_back(Change{"bench", id, t - lead, "push"});
          dep.changes.push_back(id);
        }
        out.push_back(std::move(dep));
        // Every system gets its share: the DORA mix counts them per system's deployments.
        if ((dora ? d / systems : d) % incident_every == 0)
          out.push_back(Incident{"bench", "i" + std::to_string(d), t + 600,
                                 t + 600 + static_cast<std::int64_t>(60 + rng() % (2 * 86400)), environment_of(d)});
      }
      for (auto& [system, list] : by_system) {
        const auto r = store->put(list, system, kEnd);
        events += static_cast<long>(r.stored);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < writers; ++i) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(BenchClock::now() - t0).count();
  std::printf("generated %ld deployments, %ld stored events in %.1f s (%.0f events/s) into %s\n", deployments,
              events.load(), secs, static_cast<double>(events.load()) / secs,
              collector::describe_db(f.at("db")).c_str());
  return 0;
}

HttpClient client_for(const std::string& url) {
  std::string why;
  const auto origin = parse_origin(url, why);
  if (!origin) throw std::runtime_error("--url: " + why);
  ClientOptions opt;
  opt.timeouts.read = Millis(120'000);
  opt.timeouts.total = Millis(120'000);
  opt.max_response_body = 64 << 20;
  return HttpClient(*origin, opt);
}

int metrics(const std::map<std::string, std::string>& f) {
  const int runs = static_cast<int>(num(f, "runs", 15));
  auto client = client_for(f.at("url"));
  // --model dora: the same queries in the DORA model, and pages of the
  // records behind figures.
  const std::string model = f.count("model") ? "&model=" + f.at("model") : "";
  std::vector<std::pair<std::string, std::string>> queries = {
      {"default window (last 90 days)", "/v1/metrics?to=2026-01-01T00:00:00Z" + model},
      {"whole history, by week", "/v1/metrics?from=2023-01-01&to=2026-01-01T00:00:00Z&bucket=week" + model},
      {"whole history, by day", "/v1/metrics?from=2023-01-01&to=2026-01-01T00:00:00Z&bucket=day" + model},
      {"one system, whole history", "/v1/metrics?system=system-3&from=2023-01-01&to=2026-01-01T00:00:00Z" + model},
  };
  if (!model.empty())
    for (const char* metric : {"change_failure_rate", "lead_time", "deployment_rework_rate"})
      queries.emplace_back(
          std::string("explain ") + metric + ", 100",
          std::string("/v1/metrics/explain?to=2026-01-01T00:00:00Z&limit=100&metric=") + metric + model);
  for (const auto& [name, target] : queries) {
    std::vector<double> ms;
    std::size_t bytes = 0;
    for (int i = 0; i < runs + 1; ++i) {
      const auto t0 = BenchClock::now();
      const auto r = client.send(HttpRequest{"GET", target, {}, ""});
      const double elapsed = std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count();
      const auto* res = std::get_if<HttpResponse>(&r);
      if (!res || res->status != 200) {
        std::fprintf(stderr, "pulse-bench: %s failed\n", target.c_str());
        return 1;
      }
      bytes = res->body.size();
      if (i > 0) ms.push_back(elapsed);  // the first run warms caches
      if (i == 0 && f.count("show")) std::cout << res->body.substr(0, 400) << "\n";
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  %-36s median %7.1f ms  min %7.1f  max %7.1f  (%d runs, %zu-byte answer)\n", name.c_str(),
                ms[ms.size() / 2], ms.front(), ms.back(), runs, bytes);
  }
  return 0;
}

std::vector<double> timed_gets(HttpClient& client, const std::string& target, int runs, std::size_t& bytes) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = BenchClock::now();
    const auto r = client.send(HttpRequest{"GET", target, {}, ""});
    ms.push_back(std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count());
    const auto* res = std::get_if<HttpResponse>(&r);
    if (!res || res->status != 200) throw std::runtime_error("GET " + target + " failed");
    bytes = res->body.size();
  }
  return ms;
}

int scrape(const std::map<std::string, std::string>& f) {
  auto client = client_for(f.at("url"));
  std::size_t bytes = 0;
  const double first = timed_gets(client, "/metrics", 1, bytes).front();
  auto ms = timed_gets(client, "/metrics", static_cast<int>(num(f, "runs", 50)), bytes);
  std::sort(ms.begin(), ms.end());
  std::printf(
      "  GET /metrics: first %.1f ms (computes the DORA figures); then median %.2f ms, p99 %.2f, max %.2f "
      "(%zu runs, %zu-byte answer)\n",
      first, ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), ms.size(), bytes);
  return 0;
}

int dora_export(const std::map<std::string, std::string>& f) {
  auto store = collector::open_store(f.at("db"), 1);
  const std::int64_t now = num(f, "end", kEnd);
  const collector::Window window{now - num(f, "days", 90) * 86400, now};
  const auto timed = [](const char* what, auto&& run) {
    const auto t0 = BenchClock::now();
    const std::clock_t c0 = std::clock();
    const std::string text = collector::Exporter::dora_exposition(run(), 0);
    const double wall = std::chrono::duration<double>(BenchClock::now() - t0).count();
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("  %s: %.2f s wall, %.2f CPU-seconds, %zu-byte exposition\n", what, wall, cpu, text.size());
    return text;
  };
  std::size_t environments = 0;
  const auto one = timed("one pass over every environment", [&] {
    auto reports = collector::Exporter::reports_per_environment(*store, window);
    environments = reports.size();
    return reports;
  });
  const auto each = timed("one environment at a time", [&] {
    std::vector<collector::MetricsReport> reports;
    for (const auto& name : collector::Exporter::environment_names(*store)) {
      const collector::Scope scope{std::nullopt, {name}};
      reports.push_back(
          collector::compute_metrics(store->metric_facts(window, scope), window, collector::Bucket::month, scope));
    }
    return reports;
  });
  std::printf("  %zu environments; the two expositions are %s\n", environments, one == each ? "equal" : "DIFFERENT");
  return one == each ? 0 : 1;
}

int fairness(const std::map<std::string, std::string>& f) {
  const long big = num(f, "big", 4), changes = num(f, "changes", 99'000);
  std::atomic<int> big_left{static_cast<int>(big)};
  std::vector<double> big_ms(static_cast<std::size_t>(big));
  std::vector<std::thread> threads;
  const auto t0 = BenchClock::now();
  for (long b = 0; b < big; ++b)
    threads.emplace_back([&, b] {
      auto client = client_for(f.at("url"));
      Deployment d{.source = "bench",
                   .deploy_id = "big-" + std::to_string(b) + "-" + std::to_string(t0.time_since_epoch().count()),
                   .time_created = kEnd};
      for (long c = 0; c < changes; ++c) {
        char sha[48];
        std::snprintf(sha, sizeof sha, "%08lx%032lx", b, c);
        d.changes.emplace_back(sha);
      }
      const auto start = BenchClock::now();
      const auto r = client.send(
          HttpRequest{"POST", "/v1/ingestion/cli?system=big", {{"Content-Type", "application/json"}}, encode_body(d)});
      const auto* res = std::get_if<HttpResponse>(&r);
      if (!res || res->status != 200) std::fprintf(stderr, "pulse-bench: a big deployment failed\n");
      big_ms[static_cast<std::size_t>(b)] =
          std::chrono::duration<double, std::milli>(BenchClock::now() - start).count();
      --big_left;
    });
  // Small requests until every big one is answered.
  auto client = client_for(f.at("url"));
  std::vector<double> small;
  for (long i = 0; big_left > 0; ++i) {
    const auto start = BenchClock::now();
    const auto r = client.send(HttpRequest{
        "POST",
        "/v1/ingestion/cli?system=small",
        {{"Content-Type", "application/json"}},
        encode_body(Change{"bench", "s" + std::to_string(i) + "-" + std::to_string(t0.time_since_epoch().count()), kEnd,
                           "commit"})});
    if (const auto* res = std::get_if<HttpResponse>(&r); !res || res->status != 200) break;
    small.push_back(std::chrono::duration<double, std::milli>(BenchClock::now() - start).count());
  }
  for (auto& t : threads) t.join();
  std::sort(small.begin(), small.end());
  std::sort(big_ms.begin(), big_ms.end());
  if (small.empty()) small.push_back(0);
  std::printf(
      "  %ld deployments of %ld changes at once: stored in %.0f..%.0f ms; meanwhile %zu single-event requests: "
      "median %.1f ms, p99 %.1f, max %.1f\n",
      big, changes, big_ms.front(), big_ms.back(), small.size(), small[small.size() / 2],
      small[small.size() * 99 / 100], small.back());
  return 0;
}

std::string percentiles(std::vector<double> ms) {
  if (ms.empty()) return "no requests";
  std::sort(ms.begin(), ms.end());
  char buf[128];
  std::snprintf(buf, sizeof buf, "%zu requests, median %.2f ms, p99 %.2f, max %.2f", ms.size(), ms[ms.size() / 2],
                ms[ms.size() * 99 / 100], ms.back());
  return buf;
}

int forge(const std::map<std::string, std::string>& f) {
  const long clients = num(f, "clients", 8), commits = num(f, "commits", 20), seconds = num(f, "seconds", 20);
  const std::string secret = f.at("secret");
  const auto t0 = BenchClock::now();
  const auto until = t0 + std::chrono::seconds(seconds);
  const auto run = static_cast<unsigned long>(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<std::vector<double>> ms(static_cast<std::size_t>(clients));
  std::atomic<long> failed{0};
  std::vector<std::thread> threads;
  for (long c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto client = client_for(f.at("url"));
      for (unsigned long n = 0; BenchClock::now() < until; ++n) {
        // A push as GitHub sends it, with the fields the collector reads.
        std::string body = R"({"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567",)"
                           R"("repository":{"full_name":"bench/forge","pushed_at":1767225600},"commits":[)";
        for (long k = 0; k < commits; ++k) {
          char sha[48];
          std::snprintf(sha, sizeof sha, "%010lx%02lx%012lx%016lx", run & 0xffffffffffUL, c, n, k);
          body += std::string(k ? "," : "") + R"({"id":")" + sha +
                  R"(","message":"bench","timestamp":"2025-12-31T12:00:00Z","author":{"name":"b","email":"b@x"}})";
        }
        body += "]}";
        const auto start = BenchClock::now();
        const auto r = client.send(HttpRequest{"POST",
                                               "/v1/ingestion/github",
                                               {{"Content-Type", "application/json"},
                                                {"X-GitHub-Event", "push"},
                                                {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, body)}},
                                               body});
        const auto* res = std::get_if<HttpResponse>(&r);
        if (!res || res->status != 200) {
          ++failed;
          continue;
        }
        ms[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(BenchClock::now() - start).count());
      }
    });
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(BenchClock::now() - t0).count();
  std::vector<double> all;
  for (const auto& m : ms) all.insert(all.end(), m.begin(), m.end());
  std::printf("  %ld clients, pushes of %ld commits: %.0f deliveries/s (%.0f commits/s); %s; %ld failed\n", clients,
              commits, static_cast<double>(all.size()) / elapsed,
              static_cast<double>(all.size() * static_cast<std::size_t>(commits)) / elapsed, percentiles(all).c_str(),
              failed.load());
  return failed ? 1 : 0;
}

int busy(const std::map<std::string, std::string>& f) {
  const long queries = num(f, "queries", 32), seconds = num(f, "seconds", 10);
  const auto until = BenchClock::now() + std::chrono::seconds(seconds);
  std::atomic<long> answered{0};
  std::vector<std::thread> heavy;
  for (long q = 0; q < queries; ++q)
    heavy.emplace_back([&] {
      auto client = client_for(f.at("url"));
      while (BenchClock::now() < until) {
        const auto r = client.send(HttpRequest{"GET", "/v1/metrics?from=2016-12-01&bucket=day", {}, ""});
        if (const auto* res = std::get_if<HttpResponse>(&r); res && res->status == 200) ++answered;
      }
    });
  std::vector<double> health, ingest;
  std::thread prober([&] {
    auto client = client_for(f.at("url"));
    while (BenchClock::now() < until) {
      const auto t0 = BenchClock::now();
      client.send(HttpRequest{"GET", "/healthz", {}, ""});
      health.push_back(std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  auto client = client_for(f.at("url"));
  const auto stamp = std::to_string(BenchClock::now().time_since_epoch().count());
  for (long i = 0; BenchClock::now() < until; ++i) {
    const auto t0 = BenchClock::now();
    client.send(HttpRequest{"POST",
                            "/v1/ingestion/cli?system=busy",
                            {{"Content-Type", "application/json"}},
                            encode_body(Change{"bench", "busy-" + stamp + "-" + std::to_string(i), kEnd, "commit"})});
    ingest.push_back(std::chrono::duration<double, std::milli>(BenchClock::now() - t0).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  prober.join();
  for (auto& t : heavy) t.join();
  std::printf("  %ld clients asking for ten years of daily metrics: %ld answered in %ld s\n", queries, answered.load(),
              seconds);
  std::printf("  meanwhile GET /healthz: %s\n", percentiles(health).c_str());
  std::printf("  meanwhile single-event ingestion: %s\n", percentiles(ingest).c_str());
  return 0;
}

int range(const std::map<std::string, std::string>& f) {
  const GitCommand git(f.at("directory"));
  const auto prev = resolve_commit(git, f.at("previous"));
  const auto head = resolve_commit(git, "HEAD");
  if (!prev || !head) throw std::runtime_error("unknown revision");
  std::vector<RangeCommit> commits;
  std::string why;
  if (!list_range(git, *prev, *head, {}, commits, why)) throw std::runtime_error(why);
  std::printf("%zu\n", commits.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pulse-bench generate|metrics|range --flag value ... (see bench/pulse_bench.cpp)\n");
    return 2;
  }
  try {
    const std::string cmd = argv[1];
    const auto f = flags(argc, argv);
    if (cmd == "generate") return generate(f);
    if (cmd == "metrics") return metrics(f);
    if (cmd == "range") return range(f);
    if (cmd == "scrape") return scrape(f);
    if (cmd == "dora-export") return dora_export(f);
    if (cmd == "fairness") return fairness(f);
    if (cmd == "busy") return busy(f);
    if (cmd == "forge") return forge(f);
    std::fprintf(stderr, "pulse-bench: unknown command %s\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pulse-bench: %s\n", e.what());
    return 1;
  }
}
