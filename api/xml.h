// The XML S3 speaks: documents built and read with pugixml.
#ifndef BUCKETD_API_XML_H_
#define BUCKETD_API_XML_H_

#include <string>

#include <pugixml.hpp>

#include "common/status.h"

namespace bucketd::api {

inline constexpr char kS3Namespace[] = "http://s3.amazonaws.com/doc/2006-03-01/";

// A document with the declaration and a root element in S3's namespace.
class XmlOut {
 public:
  explicit XmlOut(const char* root, bool with_namespace = true);
  pugi::xml_node root() { return root_; }
  std::string str() const;

 private:
  pugi::xml_document doc_;
  pugi::xml_node root_;
};

// <name>text</name> under `parent`.
pugi::xml_node AddText(pugi::xml_node parent, const char* name, const std::string& text);

// Parses a request body; InvalidArgument (S3 MalformedXML) naming the byte
// offset and what was wrong.
Status ParseXml(const std::string& text, pugi::xml_document* doc);

}  // namespace bucketd::api

#endif  // BUCKETD_API_XML_H_
