// The pre-push hook's steps, called as pulse-hook calls them on a push, but
// on real repositories without one: finding the repository (plain, linked
// worktree, bare, $GIT_DIR), the remote's tips, the pre-commit framework's
// variables, and the record written and read back.
#include "hooks/pre_push.hpp"

#include "../support/support.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>

using namespace pulse;
using namespace pulse::hook;
using namespace pulse::test;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pre_push)

BOOST_AUTO_TEST_CASE(finds_the_repository_from_a_subfolder_a_worktree_a_bare_one_and_git_dir) {
  // Setup: a repository with a commit, a linked worktree and a bare clone.
  GitRepo repo;
  repo.commit("a/b/file.txt", "x", 1767225600);
  TempDir other;
  repo.git({"worktree", "add", "-q", (other.path / "wt").string()});
  repo.git({"clone", "-q", "--bare", repo.dir(), (other.path / "bare.git").string()});
  const std::string git_dir = fs::canonical(repo.path() / ".git").string();
  // Run and check
  const auto plain = find_git_dirs("", repo.path() / "a" / "b");
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(fs::canonical(plain->git_dir).string() == git_dir);
  BOOST_TEST(plain->common_dir == plain->git_dir);
  const auto worktree = find_git_dirs("", other.path / "wt");
  BOOST_TEST_REQUIRE(worktree.has_value());
  BOOST_TEST(fs::canonical(worktree->git_dir).string() == git_dir + "/worktrees/wt");
  BOOST_TEST(fs::canonical(worktree->common_dir).string() == git_dir);
  const auto bare = find_git_dirs("", other.path / "bare.git");
  BOOST_TEST_REQUIRE(bare.has_value());
  BOOST_TEST(fs::canonical(bare->git_dir) == fs::canonical(other.path / "bare.git"));
  const auto given = find_git_dirs(git_dir, other.path);
  BOOST_TEST_REQUIRE(given.has_value());
  BOOST_TEST(given->git_dir == git_dir);
  BOOST_TEST(!find_git_dirs("", other.path).has_value());  // no repository there or above
}

BOOST_AUTO_TEST_CASE(the_remotes_tips_come_from_loose_and_packed_refs) {
  // Setup: origin/main packed, origin/topic loose, upstream/main not origin's.
  GitRepo repo;
  const std::string a = repo.commit("f", "1", 1767225600), b = repo.commit("f", "2", 1767225660);
  repo.git({"update-ref", "refs/remotes/origin/main", a});
  repo.git({"update-ref", "refs/remotes/upstream/main", a});
  repo.git({"pack-refs", "--all"});
  repo.git({"update-ref", "refs/remotes/origin/topic", b});
  // Run
  auto tips = remote_tips((repo.path() / ".git").string(), "origin");
  std::sort(tips.begin(), tips.end());
  // Check
  std::vector<std::string> want{a, b};
  std::sort(want.begin(), want.end());
  BOOST_TEST(tips == want, boost::test_tools::per_element());
  BOOST_TEST(read_ref((repo.path() / ".git").string(), "refs/remotes/upstream/main") == a);
  BOOST_TEST(read_ref((repo.path() / ".git").string(), "refs/heads/none") == std::string(40, '0'));
}

BOOST_AUTO_TEST_CASE(the_pre_commit_frameworks_variables_become_gits_argv_and_stdin) {
  GitRepo repo;
  const std::string head = repo.commit("f", "1", 1767225600);
  const std::string branch = repo.git({"symbolic-ref", "HEAD"});
  const std::string common = (repo.path() / ".git").string();
  struct Row {
    std::string name;
    Env env;
    std::string input;
  };
  const std::string zeros(40, '0');
  for (const auto& row : {
           Row{"a push of a known ref",
               Env{{"PRE_COMMIT_REMOTE_NAME", "origin"},
                   {"PRE_COMMIT_REMOTE_URL", "git@example:a/b.git"},
                   {"PRE_COMMIT_LOCAL_BRANCH", branch},
                   {"PRE_COMMIT_REMOTE_BRANCH", branch},
                   {"PRE_COMMIT_TO_REF", head},
                   {"PRE_COMMIT_FROM_REF", std::string(40, 'a')}},
               branch + " " + head + " " + branch + " " + std::string(40, 'a') + "\n"},
           Row{"a repository's first push: no refs given, the branch names the commit",
               Env{{"PRE_COMMIT_REMOTE_NAME", "origin"},
                   {"PRE_COMMIT_REMOTE_URL", "git@example:a/b.git"},
                   {"PRE_COMMIT_LOCAL_BRANCH", branch},
                   {"PRE_COMMIT_REMOTE_BRANCH", branch}},
               branch + " " + head + " " + branch + " " + zeros + "\n"},
       }) {
    BOOST_TEST_CONTEXT(row.name) {
      std::vector<std::string> args{"--from-env"};
      std::string input;
      from_pre_commit(common, row.env, args, input);
      BOOST_TEST(args == (std::vector<std::string>{"origin", "git@example:a/b.git"}), boost::test_tools::per_element());
      BOOST_TEST(input == row.input);
      BOOST_TEST(ships_commits(input));
    }
  }
  BOOST_TEST(!ships_commits(branch + " " + zeros + " " + branch + " " + head + "\n"));  // a deletion
  BOOST_TEST(!ships_commits(""));
}

BOOST_AUTO_TEST_CASE(the_record_is_written_once_and_reads_back_as_the_push) {
  // Setup: a push of main to origin, whose tip this clone knows.
  GitRepo repo;
  const std::string old_tip = repo.commit("f", "1", 1767225600), head = repo.commit("f", "2", 1767225660);
  repo.git({"update-ref", "refs/remotes/origin/main", old_tip});
  const auto dirs = find_git_dirs("", repo.path());
  BOOST_TEST_REQUIRE(dirs.has_value());
  const std::string input = "refs/heads/main " + head + " refs/heads/main " + old_tip + "\n";
  TempDir spool;
  const fs::path file = spool.path / "1767225700-1.push";
  // Run
  const SpoolRecord rec = push_record(*dirs, {"origin", "git@example:a/b.git"}, input, 4242, 1767225700);
  Fd written = write_record(file.string(), format_spool(rec));
  Fd again = write_record(file.string(), "other");  // never over an existing record
  // Check
  BOOST_TEST(written.get() >= 0);
  BOOST_TEST(again.get() < 0);
  const auto read = parse_spool(read_text(file));
  BOOST_TEST(read.complete);
  BOOST_TEST(read.git_dir == dirs->git_dir);
  BOOST_TEST(read.remote == "origin");
  BOOST_TEST(read.url == "git@example:a/b.git");
  BOOST_TEST(read.push_pid == 4242);
  BOOST_TEST(read.recorded_at == 1767225700);
  BOOST_TEST(read.tips == std::vector<std::string>{old_tip}, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(read.updates.size(), 1u);
  BOOST_TEST(read.updates[0].local_sha == head);
  BOOST_TEST(read.updates[0].remote_sha == old_tip);
}

BOOST_AUTO_TEST_SUITE_END()
