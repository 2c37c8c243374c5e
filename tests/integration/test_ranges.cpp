// Property tests of the range engine against git itself: for many generated
// histories (topic branches forked far back, octopus and criss-cross merges,
// a maintenance branch merged back, reverts, "ours"/"theirs" merges, equal
// commit times) and many (PREV, HEAD, PATHS), our range equals
// `git rev-list PREV..HEAD -- PATHS` on the full history, in set and order,
// on the full clone and on depth 1, 20 and 50 clones after deepening.
//
// PULSE_PROPERTY_HISTORIES=N runs N histories (default 16; a soak run:
// PULSE_PROPERTY_HISTORIES=500 build/ci/tests/test_ranges).
#include "core/git/git_range.hpp"
#include "../support/support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

using namespace pulse;
using namespace pulse::test;

namespace {

const std::vector<std::string> kFiles = {"README",      "src/a.c",     "src/b.c",           "src/sub/c.h",
                                         "docs/x.adoc", "docs/y.adoc", "docs/guide/z.adoc", "tools/t.sh"};

// Path filters as users write them: directories, files, globs, magic, several.
const std::vector<std::vector<std::string>> kPathSets = {
    {},
    {"docs"},
    {"src/a.c"},
    {"docs/*.adoc"},
    {":(glob)docs/**/*.adoc"},
    {":(exclude)docs"},
    {"src/sub", "tools"},
    {"no/such/path"},
};

struct Shape {
  int commits = 200;
  int topic_span = 30;
  bool equal_times = false;
};

struct GenCommit {
  std::vector<int> parents;
  std::map<std::string, int> tree;  // path -> content version
  std::int64_t time = 0;
};

// A random history written with git fast-import; deterministic per seed.
class History {
 public:
  History(unsigned seed, Shape shape) : rng_(seed), shape_(shape) {
    std::ostringstream s;
    GenCommit root;
    for (const auto& f : kFiles) root.tree[f] = next_version_++;
    main_.push_back(add(std::move(root), s));
    int maint = -1;
    while (static_cast<int>(commits_.size()) < shape_.commits) {
      const int r = pick(100);
      if (r < 40) {
        main_.push_back(change({main_.back()}, s));
      } else if (r < 75) {
        main_.push_back(merge({main_.back(), topic(fork_point(), s)}, s));
      } else if (r < 80) {  // octopus
        std::vector<int> parents = {main_.back()};
        for (int k = 0, n = 2 + pick(2); k < n; ++k) parents.push_back(topic(fork_point(), s));
        main_.push_back(merge(parents, s));
      } else if (r < 85) {  // criss-cross: two topics merge each other, then both land
        const int base = fork_point();
        const int a = topic(base, s), b = topic(base, s);
        const int ab = merge({a, b}, s), ba = merge({b, a}, s);
        main_.push_back(merge({main_.back(), ab}, s));
        main_.push_back(merge({main_.back(), ba}, s));
      } else if (r < 92) {  // a maintenance branch: fixes, sometimes merged back
        if (maint < 0) maint = main_[main_.size() - 1 - static_cast<std::size_t>(pick(static_cast<int>(main_.size())))];
        maint = change({maint}, s);
        maint_tips_.push_back(maint);
        if (pick(3) == 0) main_.push_back(merge({main_.back(), maint}, s));
      } else {  // a revert: back to an earlier commit's tree
        GenCommit c;
        c.parents = {main_.back()};
        const int old =
            main_[main_.size() - 1 - static_cast<std::size_t>(pick(std::min<int>(5, static_cast<int>(main_.size()))))];
        c.tree = commits_[static_cast<std::size_t>(old)].tree;
        main_.push_back(add(std::move(c), s));
      }
    }
    s << "reset refs/heads/main\nfrom :" << main_.back() + 1 << "\n\n";
    if (maint >= 0) s << "reset refs/heads/maint\nfrom :" << maint + 1 << "\n\n";
    for (std::size_t i = 5; i < main_.size(); i += 12) tag_marks_.push_back(main_[i]);
    for (std::size_t i = 0; i < maint_tips_.size(); i += 3) tag_marks_.push_back(maint_tips_[i]);
    for (std::size_t i = 0; i < tag_marks_.size(); ++i)
      s << "reset refs/tags/v1." << i << ".0\nfrom :" << tag_marks_[i] + 1 << "\n\n";
    s << "done\n";
    const auto r = run_command({"git", "-C", repo_.dir(), "fast-import", "--quiet", "--done", "--export-marks=marks"},
                               "", s.str(), std::chrono::minutes(2));
    if (r.exit_code != 0) throw std::runtime_error("fast-import: " + r.err);
    std::istringstream marks(read_marks());
    for (std::string line; std::getline(marks, line);)
      if (line.size() > 42) sha_[std::stoi(line.substr(1, line.find(' ') - 1)) - 1] = line.substr(line.find(' ') + 1);
  }

  std::string dir() const { return repo_.dir(); }
  std::string sha(int i) const { return sha_.at(i); }
  int size() const { return static_cast<int>(commits_.size()); }
  const std::vector<int>& mainline() const { return main_; }
  int pick(int n) { return n <= 1 ? 0 : std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  GitRepo& repo() { return repo_; }

 private:
  std::string read_marks() {
    std::ifstream in(repo_.path() / "marks");
    std::stringstream b;
    b << in.rdbuf();
    return b.str();
  }
  int fork_point() {
    const int back = pick(std::min<int>(shape_.topic_span + 1, static_cast<int>(main_.size())));
    return main_[main_.size() - 1 - static_cast<std::size_t>(back)];
  }
  int topic(int from, std::ostringstream& s) {
    int tip = from;
    for (int k = 0, n = 1 + pick(4); k < n; ++k) tip = change({tip}, s);
    return tip;
  }
  int change(std::vector<int> parents, std::ostringstream& s) {
    GenCommit c;
    c.parents = std::move(parents);
    c.tree = commits_[static_cast<std::size_t>(c.parents[0])].tree;
    for (int k = 0, n = 1 + pick(2); k < n; ++k)
      c.tree[kFiles[static_cast<std::size_t>(pick(static_cast<int>(kFiles.size())))]] = next_version_++;
    return add(std::move(c), s);
  }
  int merge(std::vector<int> parents, std::ostringstream& s) {
    GenCommit c;
    const auto& first = commits_[static_cast<std::size_t>(parents[0])].tree;
    const int how = pick(10);
    if (how < 6) {  // a clean merge: the other side's changed files win
      c.tree = first;
      for (std::size_t p = 1; p < parents.size(); ++p)
        for (const auto& [path, v] : commits_[static_cast<std::size_t>(parents[p])].tree)
          if (first.at(path) != v && pick(2)) c.tree[path] = v;
    } else if (how < 8) {  // -s ours
      c.tree = first;
    } else if (how < 9) {  // theirs
      c.tree = commits_[static_cast<std::size_t>(parents[1])].tree;
    } else {  // an evil merge
      c.tree = first;
      c.tree[kFiles[static_cast<std::size_t>(pick(static_cast<int>(kFiles.size())))]] = next_version_++;
    }
    c.parents = std::move(parents);
    return add(std::move(c), s);
  }
  int add(GenCommit c, std::ostringstream& s) {
    const int id = static_cast<int>(commits_.size());
    c.time = shape_.equal_times ? 1700000000 + (id / 7) * 60 : 1700000000 + id * 60;
    s << "commit refs/heads/scratch\nmark :" << id + 1 << "\ncommitter T <t@example.com> " << c.time
      << " +0000\ndata 3\nc" << id % 10 << "\n";
    if (!c.parents.empty()) s << "from :" << c.parents[0] + 1 << "\n";
    for (std::size_t p = 1; p < c.parents.size(); ++p) s << "merge :" << c.parents[p] + 1 << "\n";
    s << "deleteall\n";
    for (const auto& [path, v] : c.tree) {
      const std::string content = "v" + std::to_string(v) + "\n";
      s << "M 100644 inline " << path << "\ndata " << content.size() << "\n" << content;
    }
    s << "\n";
    commits_.push_back(std::move(c));
    return id;
  }

  std::mt19937 rng_;
  Shape shape_;
  GitRepo repo_;
  std::vector<GenCommit> commits_;
  std::vector<int> main_, maint_tips_, tag_marks_;
  int next_version_ = 1;
  std::map<int, std::string> sha_;
};

std::vector<std::string> git_lines(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir});
  const auto r = run_command(args, "", "", std::chrono::minutes(2));
  if (r.exit_code != 0) throw std::runtime_error("git failed: " + r.err);
  std::vector<std::string> out;
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// git's own answer on the full history.
std::vector<std::string> oracle(const std::string& dir, const std::string& prev, const std::string& head,
                                const std::vector<std::string>& paths) {
  std::vector<std::string> args = {"rev-list", head, "--not", prev, "--"};
  args.insert(args.end(), paths.begin(), paths.end());
  return git_lines(dir, args);
}

std::vector<std::string> ours(const GitCommand& git, const std::string& prev, const std::string& head,
                              const std::vector<std::string>& paths) {
  std::vector<RangeCommit> commits;
  std::string why;
  BOOST_REQUIRE_MESSAGE(list_range(git, prev, head, paths, commits, why), why);
  std::vector<std::string> out;
  for (const auto& c : commits) out.push_back(c.sha);
  return out;
}

std::string describe(const std::vector<std::string>& paths) {
  std::string s;
  for (const auto& p : paths) s += (s.empty() ? "" : " ") + p;
  return s.empty() ? "(no paths)" : s;
}

int histories() {
  const char* n = std::getenv("PULSE_PROPERTY_HISTORIES");
  return n ? std::max(1, std::atoi(n)) : 16;
}

Shape shape_for(int k) {
  Shape s;
  s.commits = 120 + (k % 4) * 60;
  const int spans[] = {0, 5, 30, 100};
  s.topic_span = spans[k % 4];
  s.equal_times = k % 5 == 3;
  return s;
}

// (PREV, HEAD) pairs of the kinds deployments see.
std::vector<std::pair<int, int>> choose_pairs(History& h, int count) {
  std::vector<std::pair<int, int>> out;
  const auto& main = h.mainline();
  const int m = static_cast<int>(main.size());
  for (int i = 0; i < count; ++i) {
    const int head = i % 4 == 0 ? h.pick(h.size()) : main[static_cast<std::size_t>(m - 1 - h.pick(std::min(m, 10)))];
    int prev;
    switch (i % 5) {
      case 0:
        prev = main[static_cast<std::size_t>(h.pick(m))];
        break;  // a mainline commit, any distance back
      case 1:
        prev = h.pick(h.size());
        break;  // any commit (maybe not an ancestor)
      case 2:
        prev = main[static_cast<std::size_t>(std::max(0, m - 1 - 1 - h.pick(std::min(m - 1, 40))))];
        break;
      case 3:
        prev = head;
        break;
      default:
        prev = main[static_cast<std::size_t>(m / 2 + h.pick(std::max(1, m / 2)))];
        break;
    }
    out.emplace_back(prev, head);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ranges)

BOOST_AUTO_TEST_CASE(full_clone_equals_git_rev_list) {
  std::size_t cases = 0;
  for (int k = 0; k < histories(); ++k) {
    History h(1000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    for (const auto& [p, hd] : choose_pairs(h, 12))
      for (const auto& paths : kPathSets) {
        const auto expected = oracle(h.dir(), h.sha(p), h.sha(hd), paths);
        const auto got = ours(git, h.sha(p), h.sha(hd), paths);
        BOOST_TEST_CONTEXT("history " << k << ", " << h.sha(p) << ".." << h.sha(hd) << " -- " << describe(paths)) {
          BOOST_TEST(got == expected, boost::test_tools::per_element());
        }
        ++cases;
      }
  }
  BOOST_TEST_MESSAGE(cases << " full-clone cases");
}

BOOST_AUTO_TEST_CASE(shallow_clones_after_deepening_equal_the_full_history) {
  std::size_t cases = 0, deepened = 0, unshallowed = 0;
  for (int k = 0; k < histories(); ++k) {
    History h(2000u + static_cast<unsigned>(k), shape_for(k));
    for (const int depth : {1, 20, 50}) {
      for (const auto& [p, hd] : choose_pairs(h, 3)) {
        TempDir clone;
        const GitCommand git(clone.str());
        git_lines(clone.str(), {"init", "-q"});
        git_lines(clone.str(), {"remote", "add", "origin", "file://" + h.dir()});
        git_lines(clone.str(), {"fetch", "-q", "--no-tags", "--depth=" + std::to_string(depth), "origin", h.sha(hd)});
        const auto exact = make_range_exact(git, h.sha(p), h.sha(hd), {}, {});
        BOOST_TEST_CONTEXT("history " << k << ", depth " << depth << ", " << h.sha(p) << ".." << h.sha(hd) << ": "
                                      << exact.how) {
          BOOST_TEST_REQUIRE(exact.exact);
          deepened += exact.rounds > 0;
          unshallowed += exact.unshallowed;
          for (const auto& paths : kPathSets) {
            BOOST_TEST_CONTEXT("-- " << describe(paths)) {
              BOOST_TEST(ours(git, h.sha(p), h.sha(hd), paths) == oracle(h.dir(), h.sha(p), h.sha(hd), paths),
                         boost::test_tools::per_element());
            }
            ++cases;
          }
        }
      }
    }
  }
  BOOST_TEST_MESSAGE(cases << " shallow cases; " << deepened << " clones deepened, " << unshallowed << " unshallowed");
}

BOOST_AUTO_TEST_CASE(previous_tag_and_branch_names_are_fetched_as_refs) {
  History h(31, shape_for(2));
  for (const std::string name : {"v1.3.0", "refs/tags/v1.2.0", "maint", "main"}) {
    TempDir clone;
    const GitCommand git(clone.str());
    git_lines(clone.str(), {"init", "-q"});
    git_lines(clone.str(), {"remote", "add", "origin", "file://" + h.dir()});
    const std::string head = h.sha(h.mainline().back());
    git_lines(clone.str(), {"fetch", "-q", "--no-tags", "--depth=1", "origin", head});
    std::string why;
    const auto sha = fetch_named_ref(git, "origin", name, 1, std::chrono::minutes(1), why);
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST_REQUIRE(sha.has_value(), why);
      BOOST_TEST(*sha == git_lines(h.dir(), {"rev-parse", name + "^{commit}"}).at(0));
      // As a ref, at depth 1: not the whole history.
      BOOST_TEST(git_lines(clone.str(), {"rev-list", "--count", *sha}).at(0) == "1");
      BOOST_TEST(make_range_exact(git, *sha, head, {}, {}).exact);
      BOOST_TEST(ours(git, *sha, head, {}) == oracle(h.dir(), *sha, head, {}), boost::test_tools::per_element());
    }
  }
  TempDir clone;
  git_lines(clone.str(), {"init", "-q"});
  git_lines(clone.str(), {"remote", "add", "origin", "file://" + h.dir()});
  std::string why;
  BOOST_TEST(!fetch_named_ref(GitCommand(clone.str()), "origin", "v9.9.9", 1, std::chrono::minutes(1), why));
  BOOST_TEST(why.find("no tag or branch \"v9.9.9\"") != std::string::npos, why);
  BOOST_TEST(
      !fetch_named_ref(GitCommand(clone.str()), "origin", "--upload-pack=evil", 1, std::chrono::minutes(1), why));
}

BOOST_AUTO_TEST_CASE(tags_merged_into_head_equal_git_tag_merged) {
  for (int k = 0; k < 4; ++k) {
    History h(3000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    for (int i = 0; i < 5; ++i) {
      const std::string head = h.sha(h.pick(h.size()));
      std::string why;
      const auto tags = list_tags(git, head, "^v", why);
      BOOST_TEST_REQUIRE(tags.has_value(), why);
      std::set<std::string> got, expected;
      for (const auto& t : *tags) got.insert(t.name);
      for (const auto& t : git_lines(h.dir(), {"tag", "--merged", head})) expected.insert(t);
      BOOST_TEST(got == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(latest_tag_in_history_equals_the_latest_of_git_tag_merged) {
  for (int k = 0; k < 4; ++k) {
    History h(5000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    std::string why;
    const auto tags = list_tags(git, "", "", why);
    BOOST_TEST_REQUIRE(tags.has_value(), why);
    for (int i = 0; i < 12; ++i) {
      const std::string head = h.sha(h.pick(h.size()));
      // The oracle: every tag in head's history, the latest tag time wins (ties: name order).
      std::optional<Tag> expected;
      const auto merged = git_lines(h.dir(), {"tag", "--merged", head});
      for (const auto& t : *tags)
        if (t.commit != head && std::find(merged.begin(), merged.end(), t.name) != merged.end() &&
            (!expected || t.tag_time > expected->tag_time))
          expected = t;
      const auto got = latest_tag_in_history(git, *tags, head);
      BOOST_TEST_CONTEXT("history " << k << ", head " << head) {
        BOOST_TEST(got.has_value() == expected.has_value());
        if (got && expected) BOOST_TEST(got->name == expected->name);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(backfill_assignment_equals_rev_list_per_tag) {
  for (int k = 0; k < 6; ++k) {
    History h(4000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    std::string why;
    auto tags = list_tags(git, "", "", why);
    BOOST_TEST_REQUIRE(tags.has_value(), why);
    order_tags(*tags, false);
    for (const auto& paths :
         {std::vector<std::string>{}, std::vector<std::string>{"docs"}, std::vector<std::string>{":(exclude)src"}}) {
      std::vector<std::vector<RangeCommit>> shipped;
      BOOST_TEST_REQUIRE(first_shipped(git, *tags, paths, shipped, why), why);
      std::vector<std::string> earlier;
      for (std::size_t i = 0; i < tags->size(); ++i) {
        std::vector<std::string> args = {"rev-list", (*tags)[i].commit, "--not"};
        args.insert(args.end(), earlier.begin(), earlier.end());
        args.push_back("--");
        args.insert(args.end(), paths.begin(), paths.end());
        const auto expected = git_lines(h.dir(), args);
        std::vector<std::string> got;
        for (const auto& c : shipped[i]) got.push_back(c.sha);
        BOOST_TEST_CONTEXT("history " << k << ", tag " << (*tags)[i].name << " -- " << describe(paths)) {
          if (paths.empty()) {  // one pass: the same commits, newest first
            BOOST_TEST(std::multiset<std::string>(got.begin(), got.end()) ==
                           std::multiset<std::string>(expected.begin(), expected.end()),
                       boost::test_tools::per_element());
            for (std::size_t j = 1; j < shipped[i].size(); ++j)
              BOOST_TEST(shipped[i][j - 1].commit_time >= shipped[i][j].commit_time);
          } else {
            BOOST_TEST(got == expected, boost::test_tools::per_element());
          }
        }
        earlier.push_back((*tags)[i].commit);
      }
    }
  }
}

// When each commit reached HEAD's first-parent line, by plain git: the
// line is `git rev-list --first-parent HEAD` as far as it stays in the
// range HEAD --not NOTS; a line commit M brings `git rev-list M --not NOTS
// M^1` (what it reaches and its first parent does not), at M's committer
// time.
using MergeTimes = std::map<std::string, std::int64_t>;

// "sha time" lines, for messages.
std::vector<std::string> lines_of(const MergeTimes& m) {
  std::vector<std::string> out;
  for (const auto& [sha, t] : m) out.push_back(sha + " " + std::to_string(t));
  return out;
}

MergeTimes merge_oracle(const std::string& dir, const std::vector<std::string>& nots, const std::string& head) {
  std::vector<std::string> list = {"rev-list", head, "--not"};
  list.insert(list.end(), nots.begin(), nots.end());
  const auto range = git_lines(dir, list);
  const std::set<std::string> in_range(range.begin(), range.end());
  MergeTimes out;
  for (const auto& line : git_lines(dir, {"log", "--first-parent", "--format=%H %ct %P", head})) {
    std::istringstream info(line);
    std::string m, first_parent;
    std::int64_t time = 0;
    info >> m >> time >> first_parent;
    if (!in_range.contains(m)) break;
    std::vector<std::string> args = {"rev-list", m, "--not"};
    args.insert(args.end(), nots.begin(), nots.end());
    if (!first_parent.empty()) args.push_back(first_parent);
    for (const auto& c : git_lines(dir, args)) out.emplace(c, time);
  }
  return out;
}

MergeTimes our_merge_times(const GitCommand& git, const std::string& prev, const std::string& head) {
  std::unordered_map<std::string, std::int64_t> got;
  std::string why;
  BOOST_REQUIRE_MESSAGE(merge_times(git, prev, head, got, why), why);
  return {got.begin(), got.end()};
}

BOOST_AUTO_TEST_CASE(merge_times_equal_the_first_parent_rule_by_plain_git) {
  std::size_t cases = 0, commits = 0, by_merge = 0;
  for (int k = 0; k < histories(); ++k) {
    History h(6000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    for (const auto& [p, hd] : choose_pairs(h, 4)) {
      const auto expected = merge_oracle(h.dir(), {h.sha(p)}, h.sha(hd));
      BOOST_TEST_CONTEXT("history " << k << ", " << h.sha(p) << ".." << h.sha(hd)) {
        const auto got = our_merge_times(git, h.sha(p), h.sha(hd));
        BOOST_TEST(lines_of(got) == lines_of(expected), boost::test_tools::per_element());
        // Every commit of the range has one.
        BOOST_TEST(got.size() == git_lines(h.dir(), {"rev-list", h.sha(hd), "--not", h.sha(p)}).size());
      }
      ++cases;
      commits += expected.size();
      for (const auto& line : git_lines(h.dir(), {"rev-list", "--timestamp", h.sha(hd), "--not", h.sha(p)})) {
        const auto sp = line.find(' ');
        by_merge += expected.at(line.substr(sp + 1)) != std::stoll(line.substr(0, sp));
      }
    }
    // The same on a depth-1 clone after make_range_exact, for a mainline range.
    const int m = static_cast<int>(h.mainline().size());
    const std::string prev = h.sha(h.mainline()[static_cast<std::size_t>(m / 2)]), head = h.sha(h.mainline().back());
    TempDir clone;
    const GitCommand shallow(clone.str());
    git_lines(clone.str(), {"init", "-q"});
    git_lines(clone.str(), {"remote", "add", "origin", "file://" + h.dir()});
    git_lines(clone.str(), {"fetch", "-q", "--no-tags", "--depth=1", "--filter=tree:0", "origin", head});
    BOOST_TEST_REQUIRE(make_range_exact(shallow, prev, head, {}, {}).exact);
    BOOST_TEST_CONTEXT("history " << k << ", depth 1, " << prev << ".." << head) {
      BOOST_TEST(lines_of(our_merge_times(shallow, prev, head)) == lines_of(merge_oracle(h.dir(), {prev}, head)),
                 boost::test_tools::per_element());
    }
  }
  BOOST_TEST(by_merge > 0u);  // some commits came in by a merge commit
  BOOST_TEST_MESSAGE(cases << " merge-time cases, " << commits << " commits, " << by_merge << " by a merge");
}

BOOST_AUTO_TEST_CASE(backfill_merge_times_equal_the_rule_per_tag_range) {
  for (int k = 0; k < 4; ++k) {
    History h(7000u + static_cast<unsigned>(k), shape_for(k));
    const GitCommand git(h.dir());
    std::string why;
    auto tags = list_tags(git, "", "", why);
    BOOST_TEST_REQUIRE(tags.has_value(), why);
    order_tags(*tags, false);
    HistoryMerges merges;
    BOOST_TEST_REQUIRE(backfill_merge_times(git, *tags, merges, why), why);
    const auto& got = merges.merged;
    std::vector<std::string> earlier;
    MergeTimes expected;
    for (const auto& tag : *tags) {
      if (!earlier.empty())
        for (const auto& [sha, t] : merge_oracle(h.dir(), earlier, tag.commit)) expected.emplace(sha, t);
      else  // the first tag's range is its whole history
        for (const auto& [sha, t] : merge_oracle(h.dir(), {}, tag.commit)) expected.emplace(sha, t);
      earlier.push_back(tag.commit);
    }
    BOOST_TEST_CONTEXT("history " << k << ", " << tags->size() << " tags") {
      BOOST_TEST(lines_of({got.begin(), got.end()}) == lines_of(expected), boost::test_tools::per_element());
      // The singles: per tag range, git's own first-parent non-merges.
      const std::set<std::string> singles(merges.singles.begin(), merges.singles.end());
      std::set<std::string> want;
      std::vector<std::string> before;
      for (const auto& tag : *tags) {
        std::vector<std::string> args = {"rev-list", "--first-parent", "--no-merges", tag.commit, "--not"};
        args.insert(args.end(), before.begin(), before.end());
        for (const auto& sha : git_lines(h.dir(), args)) want.insert(sha);
        before.push_back(tag.commit);
      }
      BOOST_TEST(std::vector<std::string>(singles.begin(), singles.end()) ==
                     std::vector<std::string>(want.begin(), want.end()),
                 boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(proof_refuses_a_cut_that_may_lead_into_the_range) {
  // HEAD merges X (forked from Y); PREV merges Q (forked from W, Y's parent);
  // the mainline from PREV down to Y is cut. Y looks new here but is an
  // ancestor of PREV in the full history: not provable, so not exact.
  //   W <- Y <- ... <- S (shallow) <- PREV <- HEAD;  W <- Q <- PREV;  Y <- X <- HEAD
  const std::string text =
      "50 HEAD PREV X\n"
      "40 PREV S Q\n"
      "30 S\n"
      "20 Q W\n"
      "45 X Y\n"
      "10 Y W\n"
      "5 W B\n"
      "1 B\n";
  const auto g = parse_local_graph(text, {"S", "B"});
  const auto proof = prove_range(g, "PREV", "HEAD");
  BOOST_TEST(!proof.exact, proof.reason);
  // Linear history with PREV's cut below: exact by ancestry alone, whatever the times.
  const auto linear = parse_local_graph("3 HEAD M\n9 M PREV\n1 PREV C\n7 C\n", {"C"});
  BOOST_TEST(prove_range(linear, "PREV", "HEAD").exact);
  // The range itself at the boundary: never exact.
  const auto cut = parse_local_graph("3 HEAD M\n2 M\n", {"M"});
  BOOST_TEST(!prove_range(cut, "PREV", "HEAD").exact);
}

BOOST_AUTO_TEST_SUITE_END()
