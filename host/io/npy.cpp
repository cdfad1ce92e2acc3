// .npy reader and writer (NumPy format 1.0 written; 1.0–3.0 read). Only what lemmse needs:
// little-endian or byte-order-free dtypes u1/b1/i4/i8/f4/f8 in C order.
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"

namespace lemmse {
namespace {

std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
  const std::size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) throw FormatError(what + ": .npy header has no '" + key + "' entry");
  std::size_t colon = header.find(':', k);
  if (colon == std::string::npos) throw FormatError(what + ": malformed .npy header");
  std::size_t p = colon + 1;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) throw FormatError(what + ": malformed .npy header");
  std::size_t end;
  if (header[p] == '\'') {
    end = header.find('\'', p + 1);
    if (end == std::string::npos) throw FormatError(what + ": malformed .npy header");
    return header.substr(p + 1, end - p - 1);
  }
  if (header[p] == '(') {
    end = header.find(')', p);
    if (end == std::string::npos) throw FormatError(what + ": malformed .npy shape");
    return header.substr(p, end - p + 1);
  }
  end = header.find_first_of(",}", p);
  if (end == std::string::npos) throw FormatError(what + ": malformed .npy header");
  return header.substr(p, end - p);
}

std::vector<std::size_t> parse_shape(const std::string& s, const std::string& what) {
  std::vector<std::size_t> shape;
  std::size_t p = 1;  // after '('
  while (p < s.size()) {
    while (p < s.size() && (s[p] == ' ' || s[p] == ',')) ++p;
    if (p >= s.size() || s[p] == ')') break;
    if (!std::isdigit(static_cast<unsigned char>(s[p]))) throw FormatError(what + ": bad .npy shape " + s);
    unsigned long long v = 0;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
      if (v > (1ull << 40)) throw FormatError(what + ": .npy dimension too large in " + s);
      v = v * 10 + static_cast<unsigned>(s[p] - '0');
      ++p;
    }
    shape.push_back(static_cast<std::size_t>(v));
  }
  return shape;
}

template <class T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // x86/ARM hosts are little-endian, as the accepted dtypes are
  return v;
}

}  // namespace

std::size_t NpyArray::count() const {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}

NpyArray parse_npy(const std::vector<std::uint8_t>& b, const std::string& what) {
  static const char magic[] = "\x93NUMPY";
  if (b.size() < 10 || std::memcmp(b.data(), magic, 6) != 0)
    throw FormatError(what + ": not a .npy file (bad magic)");
  const int major = b[6];
  std::size_t hlen, hstart;
  if (major == 1) {
    hlen = b[8] | (std::size_t(b[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw FormatError(what + ": truncated .npy header");
    hlen = b[8] | (std::size_t(b[9]) << 8) | (std::size_t(b[10]) << 16) | (std::size_t(b[11]) << 24);
    hstart = 12;
  } else {
    throw FormatError(what + ": unsupported .npy version " + std::to_string(major));
  }
  if (hstart + hlen > b.size()) throw FormatError(what + ": truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(b.data() + hstart), hlen);
  const std::string descr = header_value(header, "descr", what);
  const std::string fortran = header_value(header, "fortran_order", what);
  NpyArray a;
  a.shape = parse_shape(header_value(header, "shape", what), what);
  if (fortran.find("True") != std::string::npos)
    throw FormatError(what + ": Fortran-ordered .npy arrays are not supported (save with C order)");

  std::size_t item;
  if (descr == "|u1" || descr == "<u1" || descr == "u1") { a.type = NpyType::u8; item = 1; }
  else if (descr == "|b1" || descr == "b1") { a.type = NpyType::b1; item = 1; }
  else if (descr == "<i4") { a.type = NpyType::i32; item = 4; }
  else if (descr == "<i8") { a.type = NpyType::i64; item = 8; }
  else if (descr == "<f4") { a.type = NpyType::f32; item = 4; }
  else if (descr == "<f8") { a.type = NpyType::f64; item = 8; }
  else throw FormatError(what + ": unsupported .npy dtype '" + descr + "' (use uint8, bool, int32, int64, float32 or float64, little-endian)");

  const std::size_t n = a.count();
  const std::size_t start = hstart + hlen;
  if (n > (std::numeric_limits<std::size_t>::max() - start) / item || start + n * item > b.size())
    throw FormatError(what + ": truncated .npy data (header promises " + std::to_string(n) +
                      " elements, file holds " + std::to_string((b.size() - start) / item) + ")");
  a.values.resize(n);
  const std::uint8_t* p = b.data() + start;
  for (std::size_t i = 0; i < n; ++i, p += item) {
    switch (a.type) {
      case NpyType::u8: a.values[i] = *p; break;
      case NpyType::b1: a.values[i] = *p ? 1.0 : 0.0; break;
      case NpyType::i32: a.values[i] = load_le<std::int32_t>(p); break;
      case NpyType::i64: a.values[i] = static_cast<double>(load_le<std::int64_t>(p)); break;
      case NpyType::f32: a.values[i] = load_le<float>(p); break;
      case NpyType::f64: a.values[i] = load_le<double>(p); break;
    }
  }
  return a;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file_bytes(path), "'" + path + "'"); }

namespace {
void write_npy_raw(const std::string& path, const char* descr, const std::vector<std::size_t>& shape,
                   const void* data, std::size_t bytes) {
  std::string shp = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) shp += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  shp += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shp + ", }";
  // Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  f.write(reinterpret_cast<const char*>(pre), 10);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!f) throw IoError("error writing '" + path + "'");
}

std::size_t product(const std::vector<std::size_t>& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  return n;
}
}  // namespace

void write_npy_f64(const std::string& path, const std::vector<std::size_t>& shape, const std::vector<double>& v) {
  if (product(shape) != v.size()) throw InvalidArgument("write_npy_f64: shape does not match data size");
  write_npy_raw(path, "<f8", shape, v.data(), v.size() * sizeof(double));
}

void write_npy_i64(const std::string& path, const std::vector<std::size_t>& shape, const std::vector<std::int64_t>& v) {
  if (product(shape) != v.size()) throw InvalidArgument("write_npy_i64: shape does not match data size");
  write_npy_raw(path, "<i8", shape, v.data(), v.size() * sizeof(std::int64_t));
}

Images npy_to_images(const NpyArray& a, const std::string& what) {
  std::size_t n, c, h, w;
  bool nhwc = false;
  const auto& s = a.shape;
  if (s.size() == 4) {
    // NHWC when the last axis looks like channels (1, 3, 4) and the second does not.
    auto chan = [](std::size_t v) { return v == 1 || v == 3 || v == 4; };
    nhwc = chan(s[3]) && !chan(s[1]);
    n = s[0];
    if (nhwc) { h = s[1]; w = s[2]; c = s[3]; }
    else { c = s[1]; h = s[2]; w = s[3]; }
  } else if (s.size() == 3) {
    n = s[0]; c = 1; h = s[1]; w = s[2];
  } else if (s.size() == 2) {
    n = 1; c = 1; h = s[0]; w = s[1];
  } else {
    throw InvalidArgument(what + ": expected an image array N×C×H×W, N×H×W×C, N×H×W or H×W, got " +
                          std::to_string(s.size()) + " dimensions");
  }
  if (c < 1 || c > 4) throw InvalidArgument(what + ": " + std::to_string(c) + " channels (1 to 4 supported)");
  if (h == 0 || w == 0 || h > 65536 || w > 65536) throw InvalidArgument(what + ": bad image size");
  Images im(n, ImageShape{int(c), int(h), int(w)});
  const double scale = a.type == NpyType::u8 ? 1.0 / 255.0 : 1.0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t ch = 0; ch < c; ++ch)
      for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < w; ++x) {
          const std::size_t src = nhwc ? ((i * h + y) * w + x) * c + ch : ((i * c + ch) * h + y) * w + x;
          const double v = a.values[src] * scale;
          if (!std::isfinite(v)) throw InvalidArgument(what + ": non-finite value (NaN or infinity) in image " + std::to_string(i));
          im.data[((i * c + ch) * h + y) * w + x] = v;
        }
  return im;
}

}  // namespace lemmse
