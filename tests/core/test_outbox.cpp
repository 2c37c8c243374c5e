// The outbox on a real SQLite file and a real HTTP server on loopback.
#include "../support/support.hpp"
#include "core/util/env.hpp"
#include "core/event/event.hpp"
#include "core/client/outbox.hpp"
#include "core/client/ingestion.hpp"
#include "core/db/sqlite.hpp"
#include "core/net/retry.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>

#include <atomic>
#include <filesystem>
#include <sys/stat.h>
#include <thread>

using namespace pulse;

namespace {
struct OutboxFixture {
  test::TempDir dir;
  std::string path = dir.str("state/pulse/outbox.db");
  Destination to{"http://127.0.0.1:1", "app", ""};
  static std::string body(const std::string& id) { return encode_body(Change{"git", id, 1602852032, "push"}); }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(outbox)

// Every SQLite file the tools create (outbox, incident state, the
// collector's database) is its owner's alone, whatever the umask; the WAL
// and shared-memory files follow; an existing file keeps its mode.
BOOST_AUTO_TEST_CASE(new_database_files_are_the_owners_alone) {
  test::TempDir dir;
  const auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<unsigned>(st.st_mode & 0777) : 01000u;
  };
  const mode_t before = ::umask(022);
  {
    sql::Database db(dir.str("new.db"));
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE t(x)");
    db.exec("INSERT INTO t VALUES (1)");
    BOOST_TEST(mode(dir.path / "new.db") == 0600u);
    BOOST_TEST(mode(dir.path / "new.db-wal") == 0600u);
    BOOST_TEST(mode(dir.path / "new.db-shm") == 0600u);
  }
  test::write_file(dir.path / "shared.db", "");
  ::chmod((dir.path / "shared.db").c_str(), 0640);
  { sql::Database db(dir.str("shared.db")); }
  BOOST_TEST(mode(dir.path / "shared.db") == 0640u);
  ::umask(before);
}

BOOST_AUTO_TEST_CASE(backoff_doubles_from_30_seconds_up_to_an_hour) {
  struct Row {
    std::int64_t attempts, seconds;
  };
  for (const auto& row : {Row{-1, 30}, Row{0, 30}, Row{1, 60}, Row{2, 120}, Row{6, 1920}, Row{7, 3600}, Row{8, 3600},
                          Row{1'000'000, 3600}})
    BOOST_TEST_CONTEXT("attempts " << row.attempts) { BOOST_TEST(outbox_backoff_seconds(row.attempts) == row.seconds); }
}

BOOST_FIXTURE_TEST_CASE(enqueue_is_idempotent_and_bounded, OutboxFixture) {
  Outbox box(path, 3);
  BOOST_TEST((box.enqueue("k1", to, body("a"), 100) == Enqueued::stored));
  BOOST_TEST((box.enqueue("k1", to, body("a"), 101) == Enqueued::duplicate));
  const auto r = box.enqueue_all({{"k2", body("b")}, {"k3", body("c")}, {"k4", body("d")}}, to, 102);
  BOOST_TEST((r[0] == Enqueued::stored && r[1] == Enqueued::stored && r[2] == Enqueued::full));
  BOOST_TEST(box.stats().pending == 3);
  BOOST_TEST(box.stats().oldest.value() == 100);
}

// Retargeting moves the entries of one key prefix only; without
// set_aside_too, what a server set aside stays set aside where it was.
BOOST_FIXTURE_TEST_CASE(retarget_moves_one_prefix_and_may_leave_set_aside_entries, OutboxFixture) {
  Outbox box(path);
  box.enqueue("mine:1", to, body("a"), 100);
  box.enqueue("mine:2", to, body("b"), 100);
  box.enqueue("theirs:1", to, body("c"), 100);
  for (const auto& e : box.list(10))
    if (e.key == "mine:2") box.reject(e.id, "400 refused");
  BOOST_TEST(box.retarget("", "http://127.0.0.1:2", "mine:", std::nullopt, false) == 1);
  std::map<std::string, OutboxEntry> by_key;
  for (auto& e : box.list(10)) by_key[e.key] = e;
  BOOST_TEST(by_key.at("mine:1").destination.base_url == "http://127.0.0.1:2");
  BOOST_TEST(by_key.at("mine:2").destination.base_url == to.base_url);  // set aside, left alone
  BOOST_TEST(by_key.at("mine:2").rejected);
  BOOST_TEST(by_key.at("theirs:1").destination.base_url == to.base_url);  // another sender's
  BOOST_TEST(box.retarget("", "http://127.0.0.1:2", "mine:") == 1);       // set-aside ones too, tried again
  for (auto& e : box.list(10))
    if (e.key == "mine:2") BOOST_TEST(!e.rejected);
}

BOOST_FIXTURE_TEST_CASE(survives_reopen_and_paces_retries, OutboxFixture) {
  {
    Outbox box(path);
    box.enqueue("k1", to, body("a"), 100);
    const auto due = box.due(100, 10);
    BOOST_REQUIRE_EQUAL(due.size(), 1u);
    box.retry_later(due[0].id, 160, "connect refused");
  }
  Outbox box(path);
  BOOST_TEST(box.due(159, 10).empty());
  const auto later = box.due(160, 10);
  BOOST_REQUIRE_EQUAL(later.size(), 1u);
  BOOST_TEST(later[0].attempts == 1);
  BOOST_TEST(later[0].last_error == "connect refused");
  box.delivered(later[0].id);
  BOOST_TEST(box.stats().pending == 0);
}

BOOST_FIXTURE_TEST_CASE(flush_delivers_sets_aside_4xx_and_keeps_failures, OutboxFixture) {
  test::RecordingServer server([](int, const ServerRequest& r) {
    if (r.body.find("\"bad\"") != std::string::npos)
      return ServerResponse{400, "application/json", R"({"error":"change_id: no"})", {}};
    return ServerResponse{200, "application/json", "{}", {}};
  });
  Outbox box(path);
  const Destination up{server.url(), "app", ""};
  box.enqueue_all({{"k1", body("good")}, {"k2", body("bad")}}, up, 100);
  box.enqueue("k3", Destination{"http://127.0.0.1:1", "app", ""}, body("stranded"), 100);
  const auto r = flush_outbox(box, Env{}, 200, nullptr);
  BOOST_TEST(r.delivered == 1);
  BOOST_TEST(r.rejected == 1);
  BOOST_TEST(r.failed == 1);
  const auto s = box.stats();
  BOOST_TEST(s.pending == 1);   // the unreachable one, for later
  BOOST_TEST(s.rejected == 1);  // set aside with its reason
  bool reason = false;
  for (const auto& e : box.list(10)) reason |= e.rejected && e.last_error.find("change_id: no") != std::string::npos;
  BOOST_TEST(reason);
  BOOST_TEST(box.due(200, 10).empty());  // backoff
  BOOST_TEST(box.purge(false) == 1);
  BOOST_TEST(box.purge(true) == 1);
}

// Where the server offers batches (its first answer tells), events leave in
// batches; a refused batch goes again event by event, so only the event at
// fault is set aside; a batch that fails waits whole for the next flush.
BOOST_FIXTURE_TEST_CASE(flush_batches_where_offered_and_splits_a_refused_batch, OutboxFixture) {
  std::atomic<bool> down{false};
  test::RecordingServer server([&](int, const ServerRequest& r) {
    if (down && r.target.starts_with(std::string(kBatchPath) + "?"))
      return ServerResponse{503, "application/json", R"({"error":"busy"})", {}};
    if (r.body.find("\"bad\"") != std::string::npos)
      return ServerResponse{400, "application/json", R"({"error":"change_id: no"})", {}};
    return ServerResponse{200, "application/json", "{}", {{std::string(kBatchHeader), "3"}}};
  });
  Outbox box(path);
  const Destination up{server.url(), "app", ""};
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto* id : {"e1", "e2", "e3", "bad", "e5", "e6", "e7"})
    items.emplace_back(std::string("k.") + id, body(id));
  box.enqueue_all(items, up, 100);
  const auto r = flush_outbox(box, Env{}, 200, nullptr);
  BOOST_TEST(r.delivered == 6);
  BOOST_TEST(r.rejected == 1);
  BOOST_TEST(r.failed == 0);
  std::vector<std::string> paths;
  for (const auto& q : server.requests()) paths.push_back(q.target.substr(0, q.target.find('?')));
  const std::string one(kIngestionPath), batch(kBatchPath);
  // e1 alone (it learns the offer); [e2 e3 bad] refused, then one by one; [e5 e6 e7].
  BOOST_TEST(paths == (std::vector<std::string>{one, batch, one, one, one, batch}), boost::test_tools::per_element());
  const auto last = boost::json::parse(server.requests().back().body).as_array();
  BOOST_TEST(last.size() == 3u);
  BOOST_TEST(box.stats().pending == 0);
  BOOST_TEST(box.stats().rejected == 1);
  // A batch that fails (503) stays, every event of it, for a later flush.
  box.purge(true);
  items.clear();
  for (const auto* id : {"f1", "f2", "f3", "f4"}) items.emplace_back(std::string("k.") + id, body(id));
  box.enqueue_all(items, up, 300);
  down = true;
  const auto failed = flush_outbox(box, Env{}, 300, nullptr);
  BOOST_TEST(failed.delivered == 1);  // f1 alone, then [f2 f3 f4] fails
  BOOST_TEST(failed.failed == 3);
  BOOST_TEST(box.stats().pending == 3);
  BOOST_TEST(box.due(300, 10).empty());  // backoff
}

BOOST_FIXTURE_TEST_CASE(many_first_opens_at_once, OutboxFixture) {
  // Hooks and CLI runs may all create the outbox at the same moment.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&, i] {
      try {
        Outbox box(path);
        if (box.enqueue("k" + std::to_string(i), to, body("c" + std::to_string(i)), 100) == Enqueued::stored) ++ok;
      } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE(e.what());
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(ok == 12);
  BOOST_TEST(Outbox(path).stats().pending == 12);
}

BOOST_FIXTURE_TEST_CASE(one_flusher_at_a_time, OutboxFixture) {
  Outbox box(path);
  FileLock held(path + ".lock");
  BOOST_REQUIRE(held.held());
  FileLock second(path + ".lock");
  BOOST_TEST(!second.held());
  BOOST_TEST(flush_outbox(box, Env{}, 100, nullptr).locked_out);
}

BOOST_AUTO_TEST_SUITE_END()
