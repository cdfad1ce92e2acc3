// Whole-file reads, with transparent gzip inflation (zlib).
#include <zlib.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  if (size < 0) throw IoError("cannot read '" + path + "' (not a regular file?)");
  f.seekg(0, std::ios::beg);
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !f.read(reinterpret_cast<char*>(bytes.data()), size))
    throw IoError("cannot read '" + path + "'");
  return bytes;
}

std::vector<std::uint8_t> gunzip(const std::vector<std::uint8_t>& in, const std::string& what, std::size_t max_bytes) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 15 + 32: accept both gzip and zlib headers.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error("zlib: inflateInit2 failed");
  std::vector<std::uint8_t> out;
  out.resize(std::min(in.size() * 4 + 1024, max_bytes + 1));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (true) {
    if (zs.total_out >= out.size()) {
      if (out.size() > max_bytes) {
        inflateEnd(&zs);
        throw FormatError(what + ": gzip data inflates beyond " + std::to_string(max_bytes) + " bytes");
      }
      out.resize(std::min(out.size() * 2, max_bytes + 1));
    }
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  const std::size_t produced = zs.total_out;
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    throw FormatError(what + ": corrupt or truncated gzip data" + (msg.empty() ? "" : " (" + msg + ")"));
  out.resize(produced);
  return out;
}

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_file_bytes(path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, "'" + path + "'");
  return bytes;
}

}  // namespace lemmse
