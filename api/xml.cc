#include "api/xml.h"

#include <sstream>

namespace bucketd::api {

XmlOut::XmlOut(const char* root, bool with_namespace) {
  auto decl = doc_.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  root_ = doc_.append_child(root);
  if (with_namespace) root_.append_attribute("xmlns") = kS3Namespace;
}

std::string XmlOut::str() const {
  std::ostringstream out;
  doc_.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

pugi::xml_node AddText(pugi::xml_node parent, const char* name, const std::string& text) {
  pugi::xml_node n = parent.append_child(name);
  n.append_child(pugi::node_pcdata).set_value(text.c_str());
  return n;
}

Status ParseXml(const std::string& text, pugi::xml_document* doc) {
  // No DOCTYPE processing: pugixml expands no external entities at all.
  pugi::xml_parse_result r = doc->load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    return Status::InvalidArgument("The XML you provided was not well-formed or did not validate against our "
                                   "published schema (at byte " + std::to_string(r.offset) + ": " +
                                   r.description() + ")");
  }
  return Status::OK();
}

}  // namespace bucketd::api
