// Object tagging: PutObjectTagging, GetObjectTagging, DeleteObjectTagging,
// and the x-amz-tagging header of PutObject, CreateMultipartUpload and
// CopyObject. Tags live in the object's sealed metadata: a new version has
// the tags its writer gave, and changing them makes no new version (so no
// trail record of a change; the call itself is recorded, as CloudTrail does).
#include "api/auth.h"
#include "api/s3_call.h"

namespace bucketd::api {
namespace {

bool InvalidTag(Call& c, const std::string& why) {
  c.Fail(S3Error::Make(400, "InvalidTag", why));
  return false;
}

// S3's limits: at most 10 tags, keys of 1-128 and values of 0-256 characters, keys unique.
bool ValidTags(Call& c, const std::vector<std::pair<std::string, std::string>>& list,
               std::map<std::string, std::string>* tags) {
  if (list.size() > 10) return InvalidTag(c, "Object tags cannot be greater than 10");
  for (const auto& [k, v] : list) {
    if (k.empty() || k.size() > 128) return InvalidTag(c, "The TagKey you have provided is invalid ('" + k.substr(0, 200) + "')");
    if (v.size() > 256) return InvalidTag(c, "The TagValue you have provided is too long (key '" + k + "')");
    if (!tags->emplace(k, v).second) return InvalidTag(c, "Cannot provide multiple Tags with the same key ('" + k + "')");
  }
  return true;
}

}  // namespace

bool TagsFromHeader(Call& c, std::map<std::string, std::string>* tags) {
  const std::string* header = c.Header("x-amz-tagging");
  if (header == nullptr) return true;
  if (!c.Allowed("s3:PutObjectTagging", c.ObjectArn())) return false;
  auto list = ParseQuery(*header, true);
  if (!list.ok()) return InvalidTag(c, "x-amz-tagging: expected URL-encoded key=value pairs joined by &");
  return ValidTags(c, *list, tags);
}

void PutObjectTagging(Call& c) {
  c.operation = "PutObjectTagging";
  if (!c.Allowed("s3:PutObjectTagging", c.ObjectArn()) || !c.Writable()) return;
  pugi::xml_document doc;
  pugi::xml_node root;
  if (!ReadXmlBody(c, 64 << 10, "Tagging", &doc, &root)) return;
  std::vector<std::pair<std::string, std::string>> list;
  for (pugi::xml_node t : root.child("TagSet").children("Tag")) {
    if (!t.child("Key")) return c.Fail(S3Error::Make(400, "MalformedXML", "a <Tag> without its <Key>"));
    list.emplace_back(t.child_value("Key"), t.child_value("Value"));
  }
  std::map<std::string, std::string> tags;
  if (!ValidTags(c, list, &tags)) return;
  if (Status s = c.api.store.SetObjectTags(c.bucket, c.key, tags); !s.ok()) return c.FailStore(s);
  c.Empty(200);
}

void GetObjectTagging(Call& c) {
  c.operation = "GetObjectTagging";
  if (!c.Allowed("s3:GetObjectTagging", c.ObjectArn())) return;
  auto info = c.api.store.HeadObject(c.bucket, c.key);
  if (!info.ok()) return c.FailStore(info.status());
  XmlOut x("Tagging");
  pugi::xml_node set = x.root().append_child("TagSet");
  for (const auto& [k, v] : info->tags) {
    pugi::xml_node t = set.append_child("Tag");
    AddText(t, "Key", k);
    AddText(t, "Value", v);
  }
  c.Xml(200, x.str());
}

void DeleteObjectTagging(Call& c) {
  c.operation = "DeleteObjectTagging";
  if (!c.Allowed("s3:DeleteObjectTagging", c.ObjectArn()) || !c.Writable()) return;
  if (Status s = c.api.store.SetObjectTags(c.bucket, c.key, {}); !s.ok()) return c.FailStore(s);
  c.Empty(204);
}

}  // namespace bucketd::api
