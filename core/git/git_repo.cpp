#include "core/git/git_repo.hpp"

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

struct RepoDeleter {
  void operator()(git_repository* p) const { git_repository_free(p); }
};
struct WalkDeleter {
  void operator()(git_revwalk* p) const { git_revwalk_free(p); }
};
struct ObjectDeleter {
  void operator()(git_object* p) const { git_object_free(p); }
};

using RepoPtr = std::unique_ptr<git_repository, RepoDeleter>;
using WalkPtr = std::unique_ptr<git_revwalk, WalkDeleter>;
using ObjectPtr = std::unique_ptr<git_object, ObjectDeleter>;

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
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

}  // namespace pulse
