#include "git_repo.hpp"

#include <git2.h>

#include <filesystem>
#include <regex>

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

  // A walk in `git log` order (newest commit time first); null on failure.
  WalkPtr new_walk(std::string& why) {
    git_revwalk* raw = nullptr;
    if (git_revwalk_new(&raw, repo.get()) != 0) {
      why = "start history walk: " + last_error("failed");
      return nullptr;
    }
    WalkPtr walk(raw);
    git_revwalk_sorting(walk.get(), GIT_SORT_TIME);
    return walk;
  }
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

std::string GitRepository::git_dir() const {
  std::string p = git_repository_path(impl_->repo.get());
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string GitRepository::work_dir() const {
  const char* w = git_repository_workdir(impl_->repo.get());
  std::string p = w ? w : "";
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::optional<std::string> GitRepository::config(const std::string& name) const {
  git_config* raw = nullptr;
  if (git_repository_config_snapshot(&raw, impl_->repo.get()) != 0) return std::nullopt;
  std::unique_ptr<git_config, decltype(&git_config_free)> cfg(raw, &git_config_free);
  const char* value = nullptr;
  if (git_config_get_string(&value, cfg.get(), name.c_str()) != 0 || !value) return std::nullopt;
  return std::string(value);
}

std::optional<std::string> GitRepository::ref_target(const std::string& refname) const {
  git_oid oid;
  if (git_reference_name_to_id(&oid, impl_->repo.get(), refname.c_str()) != 0) return std::nullopt;
  git_object* raw = nullptr;
  if (git_object_lookup(&raw, impl_->repo.get(), &oid, GIT_OBJECT_ANY) != 0) return std::nullopt;
  ObjectPtr obj(raw);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0) return std::nullopt;
  ObjectPtr commit(peeled);
  return oid_hex(git_object_id(commit.get()));
}

bool GitRepository::is_ancestor(const std::string& ancestor, const std::string& descendant) const {
  git_oid a, d;
  if (git_oid_fromstr(&a, ancestor.c_str()) != 0 || git_oid_fromstr(&d, descendant.c_str()) != 0) return false;
  if (git_oid_equal(&a, &d)) return true;
  return git_graph_descendant_of(impl_->repo.get(), &d, &a) == 1;
}

std::vector<TagInfo> GitRepository::tags(const std::string& pattern, std::string& why) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    why = "tag pattern \"" + pattern + "\" is not a valid regular expression (" + e.what() + ")";
    return {};
  }
  std::vector<TagInfo> out;
  for (const auto& ref : ref_names()) {
    if (!ref.starts_with("refs/tags/")) continue;
    TagInfo t;
    t.name = ref.substr(10);
    if (!std::regex_search(t.name, re)) continue;
    git_object* raw = nullptr;
    if (git_revparse_single(&raw, impl_->repo.get(), ref.c_str()) != 0) continue;
    ObjectPtr obj(raw);
    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, obj.get(), GIT_OBJECT_COMMIT) != 0) continue;  // a tag of a tree or blob
    ObjectPtr commit(peeled);
    const auto* c = reinterpret_cast<const git_commit*>(commit.get());
    t.commit = oid_hex(git_object_id(commit.get()));
    t.commit_time = git_commit_time(c);
    t.tag_time = t.commit_time;
    if (git_object_type(obj.get()) == GIT_OBJECT_TAG)
      if (const git_signature* tagger = git_tag_tagger(reinterpret_cast<const git_tag*>(obj.get())))
        t.tag_time = tagger->when.time;
    out.push_back(std::move(t));
  }
  return out;
}

bool GitRepository::commit_times(std::unordered_map<std::string, std::int64_t>& times, std::string& why) const {
  for (auto& [sha, t] : times) {
    git_oid oid;
    git_commit* raw = nullptr;
    if (git_oid_fromstr(&oid, sha.c_str()) != 0 || git_commit_lookup(&raw, impl_->repo.get(), &oid) != 0) {
      why = "read commit " + sha + ": " + last_error("not found");
      return false;
    }
    CommitPtr commit(raw);
    t = git_commit_time(commit.get());
  }
  return true;
}

std::vector<std::string> GitRepository::ref_names() const {
  std::vector<std::string> out;
  git_strarray names{};
  if (git_reference_list(&names, impl_->repo.get()) == 0) {
    for (std::size_t i = 0; i < names.count; ++i) out.emplace_back(names.strings[i]);
    git_strarray_dispose(&names);
  }
  return out;
}

bool GitRepository::rev_list(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                             const std::vector<std::string>& exclude_globs, std::size_t max,
                             std::vector<std::string>& out, std::string& why) {
  WalkPtr walk = impl_->new_walk(why);
  if (!walk) return false;
  for (const auto& rev : include) {
    git_oid oid;
    if (!impl_->commit_of(rev, oid, why)) return false;
    if (git_revwalk_push(walk.get(), &oid) != 0) {
      why = "walk from " + rev + ": " + last_error("failed");
      return false;
    }
  }
  for (const auto& rev : exclude) {
    git_oid oid;
    std::string ignored;
    // A commit we do not have (a force push's old tip) hides nothing.
    if (impl_->commit_of(rev, oid, ignored)) git_revwalk_hide(walk.get(), &oid);
  }
  for (const auto& glob : exclude_globs) git_revwalk_hide_glob(walk.get(), glob.c_str());
  git_oid oid;
  int rc;
  while (out.size() < max && (rc = git_revwalk_next(&oid, walk.get())) == 0) out.push_back(oid_hex(&oid));
  if (out.size() < max && rc != GIT_ITEROVER) {
    why = "walk history: " + last_error("failed");
    return false;
  }
  return true;
}

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

  WalkPtr walk = impl_->new_walk(why);
  if (!walk) return false;
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
