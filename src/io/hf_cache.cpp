#include "io/hf_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fastwan {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// huggingface_hub expands a leading "~" in these variables.
std::string expand_home(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) return env("HOME") + path.substr(1);
  return path;
}

bool is_repo_part(std::string_view part) {
  if (part.empty() || part == "." || part == ".." || part.find("..") != std::string_view::npos) return false;
  for (char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string download_hint(const std::string& repo_id) {
  return "download it with `hf download " + repo_id + "`, or give a local folder instead";
}

}  // namespace

std::string hf_hub_cache_dir() {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"})
    if (!env(name).empty()) return expand_home(env(name));
  if (!env("HF_HOME").empty()) return (fs::path(expand_home(env("HF_HOME"))) / "hub").string();
  if (!env("XDG_CACHE_HOME").empty())
    return (fs::path(expand_home(env("XDG_CACHE_HOME"))) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

bool is_hf_repo_id(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) return false;
  return is_repo_part(text.substr(0, slash)) && is_repo_part(text.substr(slash + 1));
}

Expected<std::string> hf_cached_snapshot(const std::string& repo_id) {
  const size_t slash = repo_id.find('/');
  const fs::path repo = fs::path(hf_hub_cache_dir()) /
                        ("models--" + repo_id.substr(0, slash) + "--" + repo_id.substr(slash + 1));
  std::error_code ec;
  if (!fs::is_directory(repo, ec))
    return Error(repo_id + ": not in the Hugging Face cache (no folder " + repo.string() + "); " +
                 download_hint(repo_id));
  const fs::path snapshots = repo / "snapshots";
  std::ifstream ref(repo / "refs" / "main");
  std::string commit;
  if (ref && std::getline(ref, commit) && !commit.empty()) {
    const fs::path snapshot = snapshots / commit;
    if (!fs::is_directory(snapshot, ec))
      return Error(repo_id + ": " + (repo / "refs" / "main").string() + " names commit " + commit + ", but " +
                   snapshot.string() + " does not exist; " + download_hint(repo_id));
    return snapshot.string();
  }
  // No refs/main (downloaded at a fixed revision): take the snapshot when there is only one.
  std::vector<fs::path> found;
  if (fs::is_directory(snapshots, ec))
    for (const auto& e : fs::directory_iterator(snapshots, ec))
      if (e.is_directory(ec)) found.push_back(e.path());
  if (found.size() == 1) return found.front().string();
  if (found.empty())
    return Error(repo_id + ": " + repo.string() + " holds no snapshot; " + download_hint(repo_id));
  return Error(repo_id + ": " + repo.string() + " has no refs/main and " + std::to_string(found.size()) +
               " snapshots; give the snapshot folder itself (" + snapshots.string() + "/<commit>)");
}

std::string hf_repo_id_of_snapshot(const std::string& folder) {
  const fs::path p = fs::path(folder).lexically_normal();
  const fs::path snapshot = p.filename().empty() ? p.parent_path() : p;
  const fs::path repo = snapshot.parent_path().parent_path();
  if (snapshot.parent_path().filename() != "snapshots") return "";
  const std::string name = repo.filename().string();
  if (!name.starts_with("models--")) return "";
  const std::string rest = name.substr(8);
  const size_t sep = rest.find("--");
  if (sep == std::string::npos) return "";
  const std::string id = rest.substr(0, sep) + "/" + rest.substr(sep + 2);
  return is_hf_repo_id(id) ? id : "";
}

Expected<std::string> resolve_model_location(const std::string& value, const std::string& flag) {
  if (value.empty()) return Error(flag + ": a model folder or a Hugging Face id (ORG/NAME) is required");
  std::error_code ec;
  if (fs::is_directory(value, ec)) return value;
  if (fs::exists(value, ec))
    return Error(flag + " " + value + ": is a file; expected a model folder or a Hugging Face id (ORG/NAME)");
  if (!is_hf_repo_id(value))
    return Error(flag + " " + value + ": no such folder (and not a Hugging Face id of the form ORG/NAME)");
  auto snapshot = hf_cached_snapshot(value);
  if (!snapshot) return snapshot.error().with_context(flag);
  return snapshot;
}

}  // namespace fastwan
