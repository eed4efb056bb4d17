#include "store/meta_key.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/md5.h"

namespace bucketd::store {

namespace {

constexpr size_t kProofHexChars = 32;  // 128 bits of the HMAC: unguessable, short in logs

// "" when this user may not open it; NotFound when there is none.
Result<std::string> ReadKey(Fs& fs, int root_fd, const std::string& path) {
  auto fd = fs.OpenAt(root_fd, kMetaKeyFile, O_RDONLY | O_NOFOLLOW);
  if (!fd.ok() && fd.status().code() == StatusCode::kPermissionDenied) return std::string();
  if (!fd.ok()) return fd.status();
  ASSIGN_OR_RETURN(FileStat st, fs.Stat(fd->get()));
  if (!st.IsRegular() || (st.mode & 0007) != 0) {
    return Status::PermissionDenied("metadata key '" + path +
                                    "' is not a regular file only bucketd's user and group may "
                                    "access: run chmod o-rwx '" + path + "' (or remove it: it is made anew, "
                                    "and existing metadata is recomputed)");
  }
  std::string key(kMetaKeyBytes + 1, '\0');
  ASSIGN_OR_RETURN(size_t n, fs.PRead(fd->get(), key.data(), key.size(), 0));
  if (n != kMetaKeyBytes) {
    return Status::Corruption("metadata key '" + path + "' holds " + std::to_string(n) + " bytes, not " +
                              std::to_string(kMetaKeyBytes) + "; remove it to have it made anew");
  }
  key.resize(n);
  return key;
}

}  // namespace

Result<std::string> LoadMetaKey(Fs& fs, int root_fd, int staging_fd, const std::string& root, bool create) {
  std::string path = root + "/" + kMetaKeyFile;
  auto key = ReadKey(fs, root_fd, path);
  if (key.ok() || !key.status().IsNotFound()) return key;
  if (!create) return std::string();
  // Made whole and durable under a temp name, then linked: a concurrent
  // opener reads the complete key or makes its own and loses the link race.
  auto tmp = fs.OpenAt(staging_fd, ".", O_TMPFILE | O_WRONLY, 0640);
  if (!tmp.ok()) return std::string();
  // The key belongs to whoever owns the root (bucketd's user), also when
  // root's bucketctl is the first to open a fresh store: a root-owned key
  // would leave bucketd unable to seal or trust anything.
  ASSIGN_OR_RETURN(FileStat root_st, fs.Stat(root_fd));
  if (::geteuid() == 0) RETURN_IF_ERROR(fs.Fchown(tmp->get(), root_st.uid, root_st.gid));
  RETURN_IF_ERROR(fs.WriteAll(tmp->get(), SecretBytes(kMetaKeyBytes)));
  RETURN_IF_ERROR(fs.Fsync(tmp->get()));
  Status linked = fs.LinkTmpFile(tmp->get(), root_fd, kMetaKeyFile);
  if (linked.code() == StatusCode::kPermissionDenied) return std::string();  // a root this user may not write
  if (!linked.ok() && !linked.IsAlreadyExists()) return Status(linked.code(), "metadata key '" + path + "': " + linked.message());
  if (linked.ok()) RETURN_IF_ERROR(fs.Fsync(root_fd));
  return ReadKey(fs, root_fd, path);
}

std::string SignChain(std::string_view key, std::string_view chain) {
  return std::string(chain) + ":" + HexEncode(HmacSha256(key, "bucketd chain\n" + std::string(chain))).substr(0, kProofHexChars);
}

Result<std::string> VerifyChain(std::string_view key, std::string_view signed_chain) {
  // "<id>:<hop>:<proof>"; a bare "<id>:<hop>" has no proof at all.
  size_t colon = signed_chain.rfind(':');
  bool has_proof = colon != std::string_view::npos && colon > 0 &&
                   signed_chain.substr(0, colon).find(':') != std::string_view::npos;
  if (key.empty() || !has_proof) {
    return Status::InvalidArgument("'" + std::string(signed_chain) + "' carries no proof that bucketd issued it");
  }
  std::string chain(signed_chain.substr(0, colon));
  if (!ConstantTimeEquals(SignChain(key, chain), signed_chain)) {
    return Status::InvalidArgument("'" + chain + "' carries a proof that bucketd did not issue");
  }
  return chain;
}

}  // namespace bucketd::store
