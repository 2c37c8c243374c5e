// The forges' own push webhooks (GitHub, GitLab, Gitea and Forgejo,
// Bitbucket Cloud): each delivery's signature or token checked, and its
// commits read as changes of the repository's system with the time the forge
// received the push. Pure functions over headers and text, so they are
// fuzzed (fuzz/fuzz_forge.cpp).
#pragma once

#include "core/event/event.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::collector {

enum class Forge { github, gitlab, gitea, bitbucket };

/// How a forge proves a delivery is its own.
enum class ForgeProof {
  hmac_prefixed,  ///< "sha256=" and the hex HMAC-SHA256 of the body (GitHub, Bitbucket)
  hmac,           ///< the hex HMAC-SHA256 of the body alone (Gitea, Forgejo)
  token,          ///< the secret itself (GitLab)
};

/// One forge: its route, its name as a change's source, the flag of its
/// secret, how people call it, and the headers it sends (a second name
/// where Forgejo renamed Gitea's; empty where none).
struct ForgeSpec {
  Forge forge;
  std::string_view path;         ///< "/v1/ingestion/github"
  std::string_view source;       ///< "github": the stored changes' source
  std::string_view title;        ///< "GitHub"
  std::string_view secret_flag;  ///< "github-webhook-secret-file"
  ForgeProof proof;
  std::string_view signature;      ///< the proof's header: "X-Hub-Signature-256"
  std::string_view alt_signature;  ///< "X-Forgejo-Signature"
  std::string_view event;          ///< the event's header: "X-GitHub-Event"
  std::string_view alt_event;      ///< "X-Forgejo-Event"
};

/// Every forge, one row each.
std::span<const ForgeSpec> forges();
/// The forge whose route is `path`, or null.
const ForgeSpec* forge_at(std::string_view path);
const ForgeSpec& spec_of(Forge forge);

using HeaderLookup = std::function<std::optional<std::string>(std::string_view)>;

enum class ForgeAuth { ok, missing, invalid };

/// Checks a delivery against the forge's secrets (several during a
/// rotation): GitHub's X-Hub-Signature-256 and Bitbucket's X-Hub-Signature
/// ("sha256=" and the HMAC-SHA256 of the body in hex), Gitea's and Forgejo's
/// X-Gitea-Signature / X-Forgejo-Signature (the hex alone), GitLab's
/// X-Gitlab-Token (the secret itself). Constant-time comparisons.
ForgeAuth verify_delivery(Forge forge, std::span<const std::string> secrets, const HeaderLookup& header,
                          std::string_view body);

/// A commit of a push, with its time as the payload gives it (0: none given).
struct PushedCommit {
  std::string sha;
  std::int64_t time = 0;
};

/// What a delivery holds for the collector.
struct ForgeDelivery {
  std::string event;           ///< the forge's name for it ("push", "Push Hook", "repo:push", "ping")
  std::string ignored;         ///< not empty: why nothing is stored ("ping", "tag push", "branch deleted")
  std::string repository;      ///< owner/name, group/sub/name: the system
  std::int64_t pushed_at = 0;  ///< when the forge received the push, when the payload says (else 0)
  std::vector<PushedCommit> commits;
};

inline constexpr std::size_t kMaxPushedCommits = 10'000;

/// Reads a delivery: the event from its header, a push from the body. On a
/// malformed body (or a push without what a push has) returns nullopt and
/// sets `why` naming the field ("commits[2].id: not a commit id"). Any other
/// event, a tag push or a deleted branch is a delivery with `ignored` set.
std::optional<ForgeDelivery> decode_delivery(Forge forge, const HeaderLookup& header, std::string_view body,
                                             std::string& why);

/// The changes a push stores, one per commit: its push time (`pushed_at`,
/// else `now`) and, when the payload gives one, its commit time.
std::vector<Event> push_events(const ForgeDelivery& delivery, std::string_view source, std::int64_t now);

}  // namespace pulse::collector
