// Writes the fuzzers' seed corpora: small valid (and near-valid) inputs of every format, made
// by lemmse's own writers. Usage: lemmse_fuzz_seeds OUTDIR (creates OUTDIR/<target>/...).
#include <stb_image_write.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lemmse/io.hpp"

namespace fs = std::filesystem;

static void put(const fs::path& p, const std::vector<std::uint8_t>& b) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

static std::vector<std::uint8_t> slurp(const fs::path& p) { return lemmse::read_file_bytes(p.string()); }

static std::vector<std::uint8_t> gz(const std::vector<std::uint8_t>& b, const fs::path& tmp) {
  gzFile f = gzopen(tmp.string().c_str(), "wb");
  gzwrite(f, b.data(), unsigned(b.size()));
  gzclose(f);
  return slurp(tmp);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path out = argv[1];
  const fs::path tmp = out / "tmp";
  fs::create_directories(tmp);
  // npy: several dtypes and shapes (also used for masks and kernels)
  std::vector<double> v(2 * 3 * 4 * 4);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i % 5) / 4;
  lemmse::write_npy_f64((tmp / "a.npy").string(), {2, 3, 4, 4}, v);
  put(out / "npy/f64_nchw.npy", slurp(tmp / "a.npy"));
  lemmse::write_npy_f64((tmp / "b.npy").string(), {4, 4}, std::vector<double>(16, 1.0));
  put(out / "npy/f64_plane.npy", slurp(tmp / "b.npy"));
  put(out / "operator_files/mask.npy", slurp(tmp / "b.npy"));
  lemmse::write_npy_f64((tmp / "k.npy").string(), {3, 3}, {0, 0.1, 0, 0.1, 0.6, 0.1, 0, 0.1, 0});
  put(out / "operator_files/kernel.npy", slurp(tmp / "k.npy"));
  lemmse::write_npy_i64((tmp / "i.npy").string(), {3}, {4, 1, 2});
  put(out / "npy/i64.npy", slurp(tmp / "i.npy"));
  // IDX images, plain and gzipped
  std::vector<std::uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
  for (int i = 0; i < 18; ++i) idx.push_back(std::uint8_t(i * 13));
  put(out / "idx/plain", idx);
  put(out / "idx/gz", gz(idx, tmp / "idx.gz"));
  // CIFAR-10: two records
  std::vector<std::uint8_t> cifar;
  for (int r = 0; r < 2; ++r) {
    cifar.push_back(std::uint8_t(r + 3));
    for (int k = 0; k < 3072; ++k) cifar.push_back(std::uint8_t((k * 7 + r) % 256));
  }
  put(out / "cifar/two", cifar);
  put(out / "cifar/two.gz", gz(cifar, tmp / "c.gz"));
  // images: PNG grey and RGB, BMP
  std::vector<unsigned char> px(8 * 6 * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = (unsigned char)(i * 11);
  stbi_write_png((tmp / "g.png").string().c_str(), 8, 6, 1, px.data(), 8);
  stbi_write_png((tmp / "c.png").string().c_str(), 8, 6, 3, px.data(), 24);
  stbi_write_bmp((tmp / "c.bmp").string().c_str(), 8, 6, 3, px.data());
  put(out / "image/grey.png", slurp(tmp / "g.png"));
  put(out / "image/rgb.png", slurp(tmp / "c.png"));
  put(out / "image/rgb.bmp", slurp(tmp / "c.bmp"));
  // CLI argument lists (newline-separated)
  const char* cli[] = {"--estimator\nle-mmse\n--patch\n5\n--sigma\n0.2",
                       "--problem\ninpaint-box:15\n--preinverse\neps-mask\n--compat\nreference",
                       "--dataset\ncifar-10\n--data-dir\n/nonexistent\n--train-count\n10\n--topk\n3\n--variance",
                       "--problem\nblur-gaussian:1.5\n--preinverse\ninverse\n--backend\ncpu\n--threads\n2"};
  int n = 0;
  for (const char* c : cli) {
    const std::string s(c);
    put(out / ("cli/" + std::to_string(n++)), std::vector<std::uint8_t>(s.begin(), s.end()));
  }
  fs::remove_all(tmp);
  return 0;
}
