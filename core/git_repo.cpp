#include "git_repo.hpp"

#include <git2.h>

#include <filesystem>

namespace pulse {

namespace {

struct LibGit2 {
  LibGit2() { git_libgit2_init(); }
  ~LibGit2() { git_libgit2_shutdown(); }
};

void ensure_init() { static LibGit2 instance; }

// Must be called right after the failing call, on the same thread.
std::string last_error(std::string_view fallback) {
  const git_error* e = git_error_last();
  return e && e->message ? std::string(e->message) : std::string(fallback);
}

struct RepoDeleter { void operator()(git_repository* p) const { git_repository_free(p); } };
struct WalkDeleter { void operator()(git_revwalk* p) const { git_revwalk_free(p); } };
struct CommitDeleter { void operator()(git_commit* p) const { git_commit_free(p); } };
struct TreeDeleter { void operator()(git_tree* p) const { git_tree_free(p); } };
struct ObjectDeleter { void operator()(git_object* p) const { git_object_free(p); } };
struct EntryDeleter { void operator()(git_tree_entry* p) const { git_tree_entry_free(p); } };

using RepoPtr = std::unique_ptr<git_repository, RepoDeleter>;
using WalkPtr = std::unique_ptr<git_revwalk, WalkDeleter>;
using CommitPtr = std::unique_ptr<git_commit, CommitDeleter>;
using TreePtr = std::unique_ptr<git_tree, TreeDeleter>;
using ObjectPtr = std::unique_ptr<git_object, ObjectDeleter>;
using EntryPtr = std::unique_ptr<git_tree_entry, EntryDeleter>;

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

// The OID at `path` in `tree` (the tree itself for ""), or a zero OID when absent.
git_oid entry_oid(git_tree* tree, const std::string& path) {
  git_oid oid{};
  if (path.empty()) {
    git_oid_cpy(&oid, git_tree_id(tree));
    return oid;
  }
  git_tree_entry* raw = nullptr;
  if (git_tree_entry_bypath(&raw, tree, path.c_str()) == 0) {
    EntryPtr entry(raw);
    git_oid_cpy(&oid, git_tree_entry_id(entry.get()));
  }
  return oid;
}

bool differs(git_tree* a, git_tree* b, const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    const git_oid x = entry_oid(a, p), y = entry_oid(b, p);
    if (!git_oid_equal(&x, &y)) return true;
  }
  return false;
}

}  // namespace

struct GitRepository::Impl {
  RepoPtr repo;
  std::string prefix;  // where the user's directory sits inside the work tree ("" or "sub/dir/")

  bool commit_of(std::string_view rev, git_oid& out, std::string& why) {
    git_object* raw = nullptr;
    const std::string spec(rev);
    if (git_revparse_single(&raw, repo.get(), spec.c_str()) != 0) {
      why = "unknown revision \"" + spec + "\": " + last_error("not found");
      return false;
    }
    ObjectPtr obj(raw);
    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0) {
      why = "\"" + spec + "\" does not name a commit";
      return false;
    }
    ObjectPtr commit(peeled);
    git_oid_cpy(&out, git_object_id(commit.get()));
    return true;
  }

  bool touches(git_commit* commit, const std::vector<std::string>& paths, bool& out, std::string& why) {
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, commit) != 0) {
      why = "read tree of " + oid_hex(git_commit_id(commit)) + ": " + last_error("failed");
      return false;
    }
    TreePtr tree(raw_tree);
    const unsigned parents = git_commit_parentcount(commit);
    if (parents == 0) {
      git_oid zero{};
      out = false;
      for (const auto& p : paths) {
        const git_oid x = entry_oid(tree.get(), p);
        if (!git_oid_equal(&x, &zero)) out = true;
      }
      return true;
    }
    // Like git's history simplification: a commit that is the same as one of
    // its parents for these paths did not change them.
    out = true;
    for (unsigned i = 0; i < parents; ++i) {
      git_commit* raw_parent = nullptr;
      if (git_commit_parent(&raw_parent, commit, i) != 0) {
        why = "read parent of " + oid_hex(git_commit_id(commit)) + ": " + last_error("failed");
        return false;
      }
      CommitPtr parent(raw_parent);
      git_tree* raw_ptree = nullptr;
      if (git_commit_tree(&raw_ptree, parent.get()) != 0) {
        why = "read tree of " + oid_hex(git_commit_id(parent.get())) + ": " + last_error("failed");
        return false;
      }
      TreePtr ptree(raw_ptree);
      if (!differs(tree.get(), ptree.get(), paths)) {
        out = false;
        return true;
      }
    }
    return true;
  }
};

GitRepository::GitRepository(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GitRepository::~GitRepository() = default;

std::unique_ptr<GitRepository> GitRepository::open(const std::string& path, std::string& why) {
  ensure_init();
  std::error_code fs_ec;
  if (!std::filesystem::is_directory(path, fs_ec)) {
    why = "directory \"" + path + "\" does not exist";
    return nullptr;
  }
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, path.c_str(), 0, nullptr) != 0) {
    why = "\"" + path + "\" is not in a git repository (" + last_error("not found") + ")";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->repo.reset(raw);
  if (const char* workdir = git_repository_workdir(raw)) {
    const auto base = std::filesystem::weakly_canonical(workdir, fs_ec);
    const auto here = std::filesystem::weakly_canonical(path, fs_ec);
    auto rel = here.lexically_relative(base).generic_string();
    if (!rel.empty() && rel != "." && !rel.starts_with("..")) impl->prefix = rel + "/";
  }
  return std::unique_ptr<GitRepository>(new GitRepository(std::move(impl)));
}

bool GitRepository::is_shallow() const { return git_repository_is_shallow(impl_->repo.get()) == 1; }

std::optional<std::string> GitRepository::resolve(std::string_view rev, std::string& why) {
  git_oid oid;
  if (!impl_->commit_of(rev, oid, why)) return std::nullopt;
  return oid_hex(&oid);
}

bool GitRepository::log_range(std::string_view from, std::string_view to, const std::vector<std::string>& paths,
                              std::vector<CommitInfo>& out, std::string& why) {
  git_oid from_oid, to_oid;
  if (!impl_->commit_of(to, to_oid, why)) return false;
  if (!from.empty() && !impl_->commit_of(from, from_oid, why)) return false;

  // Normalise the pathspecs: relative to the opening directory, no "./", no trailing "/".
  std::vector<std::string> specs;
  for (const auto& p : paths) {
    std::string s = std::filesystem::path(impl_->prefix + p).lexically_normal().generic_string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    if (s == "." || s == "/") s.clear();
    if (s.starts_with("../")) {
      why = "path \"" + p + "\" is outside the repository";
      return false;
    }
    specs.push_back(s);
  }

  git_revwalk* raw_walk = nullptr;
  if (git_revwalk_new(&raw_walk, impl_->repo.get()) != 0) {
    why = "start history walk: " + last_error("failed");
    return false;
  }
  WalkPtr walk(raw_walk);
  git_revwalk_sorting(walk.get(), GIT_SORT_TIME);
  if (git_revwalk_push(walk.get(), &to_oid) != 0 || (!from.empty() && git_revwalk_hide(walk.get(), &from_oid) != 0)) {
    why = "start history walk: " + last_error("failed");
    return false;
  }
  git_oid oid;
  int rc;
  while ((rc = git_revwalk_next(&oid, walk.get())) == 0) {
    git_commit* raw_commit = nullptr;
    if (git_commit_lookup(&raw_commit, impl_->repo.get(), &oid) != 0) {
      why = "read commit " + oid_hex(&oid) + ": " + last_error("failed");
      return false;
    }
    CommitPtr commit(raw_commit);
    if (!specs.empty()) {
      bool keep = false;
      if (!impl_->touches(commit.get(), specs, keep, why)) return false;
      if (!keep) continue;
    }
    out.push_back({oid_hex(&oid), static_cast<std::int64_t>(git_commit_time(commit.get())),
                   static_cast<std::int64_t>(git_commit_author(commit.get())->when.time)});
  }
  if (rc != GIT_ITEROVER) {
    why = "walk history: " + last_error("failed");
    if (is_shallow())
      why += " (this clone is shallow: fetch the missing history, e.g. git fetch --unshallow)";
    return false;
  }
  return true;
}

}  // namespace pulse
