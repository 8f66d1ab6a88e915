// make_archive: write a directory of synthetic rolling packet-capture files, named the
// way daemonlogger, dumpcap ring buffers or tcpdump -G name theirs, for the benchmarks
// and the README demo. Standalone on purpose: the C++17 standard library and POSIX,
// no libpcap, so that it writes bytes as fast as the disk takes them.
//
// The traffic is made up but well formed: Ethernet (optionally 802.1Q), IPv4 with correct
// header checksums, some IPv6, TCP connections with handshakes, sequence numbers, delayed
// ACKs and closes, UDP (DNS, NTP, QUIC, RTP) and ICMP echo, all with correct
// TCP/UDP/ICMP checksums, between ~200 internal hosts in 10.0.0.0/16 and ~2000 external
// hosts in the documentation ranges (RFC 5737, RFC 3849). Same options and seed: the
// same bytes, on the same platform.
//
// Build: g++ -std=c++17 -O2 -Wall -Wextra -Wpedantic -o make_archive make_archive.cpp

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace {

const char* const kProg = "make_archive";

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "%s: %s (try --help)\n", kProg, msg.c_str());
  std::exit(2);
}

[[noreturn]] void fatal(const std::string& what, int err) {
  std::fprintf(stderr, "%s: %s: %s\n", kProg, what.c_str(), std::strerror(err));
  std::exit(1);
}

// ---------------------------------------------------------------------------------------
// Options

enum class Format { pcap, pcap_ns, pcapng, pcapng_ns };
enum class Layout { daemonlogger, dumpcap, tcpdump };

struct Options {
  std::string out;
  std::string prefix;  // empty: the layout's default
  uint64_t files = 4;
  uint64_t size = 64ull << 20;
  int64_t start = 1700000000;  // 2023-11-14 22:13:20 UTC
  double rate = 5000.0;
  uint64_t seed = 1;
  Format format = Format::pcap;
  Layout layout = Layout::daemonlogger;
  double vlan_fraction = 0.0;
  double hoi_fraction = 0.01;
  uint32_t interleave = 64;
  int64_t split_offset = 0;
  uint32_t snaplen = 65535;
  bool quiet = false;
};

void print_help() {
  std::printf(
      "usage: %s --out DIR [options]\n"
      "\n"
      "Write a directory of synthetic rolling capture files, as a sensor's capture daemon\n"
      "would leave them, for benchmarks and demos. Nothing is sent on any network.\n"
      "\n"
      "  --out DIR            directory to write into (created if missing; files of the same\n"
      "                       name are overwritten)\n"
      "  --files N            number of files (default 4)\n"
      "  --size BYTES         roll over to the next file once a file reaches BYTES; suffixes\n"
      "                       K, M, G, T are binary (64M = 67108864; default 64M). As with\n"
      "                       daemonlogger -s, a file ends with the packet that crosses the\n"
      "                       limit, so it is at most one record larger than BYTES\n"
      "  --start EPOCH        time of the first packet, in seconds since 1970 (default\n"
      "                       1700000000 = 2023-11-14 22:13:20 UTC)\n"
      "  --rate PPS           packets per second of simulated traffic (default 5000);\n"
      "                       sets the time span: about files*size/(mean packet size)/PPS\n"
      "  --seed N             seed of the pseudo-random generator (default 1)\n"
      "  --format F           pcap (microseconds, default), pcap-ns (nanoseconds, magic\n"
      "                       a1b23c4d), pcapng, pcapng-ns (if_tsresol 9)\n"
      "  --linktype ether     Ethernet (the only link type)\n"
      "  --vlan-fraction F    tag about F (0..1) of the flows with 802.1Q (default 0)\n"
      "  --layout L           file names (times in names are UTC):\n"
      "                         daemonlogger  PREFIX.EPOCH               (default prefix\n"
      "                                       daemonlogger.pcap, as daemonlogger -n)\n"
      "                         dumpcap       PREFIX_NNNNN_YYYYmmddHHMMSS.EXT (prefix ring,\n"
      "                                       as dumpcap -w ring.EXT -b filesize:...)\n"
      "                         tcpdump       PREFIX.YYYYmmddHHMMSS.EXT  (prefix trace, as\n"
      "                                       tcpdump -G N -w 'trace.%%Y%%m%%d%%H%%M%%S.pcap')\n"
      "                       EXT is pcap or pcapng after --format\n"
      "  --prefix NAME        file name prefix instead of the layout's default\n"
      "  --interleave K       about K flows are active at once, their packets interleaved\n"
      "                       (default 64; each of the 11 kinds of traffic keeps at least\n"
      "                       one, and one is the host of interest's)\n"
      "  --split-offset S     the time in each name is the second of the file's first packet\n"
      "                       plus S (signed; default 0). Real daemons name a file by the\n"
      "                       wall clock when they open it: the first file's name is earlier\n"
      "                       than its first packet (S<0), and a capture buffer that lags\n"
      "                       makes later names a little later than the first packet (S>0)\n"
      "  --snaplen N          snapshot length: longer frames are truncated (default 65535)\n"
      "  --hoi-fraction F     share of packets of the host of interest (default 0.01)\n"
      "  -q, --quiet          no summary on stderr\n"
      "  -h, --help           this text\n"
      "\n"
      "Host of interest: 10.0.0.7 is in about 1%% of the packets (--hoi-fraction), and no\n"
      "other host is 10.0.0.7, so that a pull for 'host 10.0.0.7' returns a small but\n"
      "non-empty result; with --vlan-fraction the tagged ones need 'vlan and host 10.0.0.7'.\n"
      "\n"
      "Timestamps increase strictly across all files (at least 1 us, or 1 ns for the -ns\n"
      "formats, between packets). Each file's first packet is in the second named by its\n"
      "name (with --split-offset 0). The daemonlogger and tcpdump names carry only seconds,\n"
      "and daemonlogger truncates an existing file when two roll-overs fall in the same\n"
      "second; so with those layouts, when a file would start in the same second as the one\n"
      "before it, the clock jumps to the next whole second (a gap of under a second in the\n"
      "traffic, so that names stay unique). Each file's mtime is its last packet's time.\n"
      "\n"
      "Traffic: Ethernet, IPv4 (about 10%% IPv6) between ~200 hosts in 10.0.0.0/16 and\n"
      "762 IPv4 hosts in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 plus 1238 IPv6\n"
      "hosts in 2001:db8::/32; TCP 443, 80, 22, 25, 6667 and high ports, UDP 53, 123, 443\n"
      "(QUIC) and RTP, ICMP echo. Valid IP, TCP, UDP and ICMP checksums.\n"
      "\n"
      "stdout: the paths written, one a line. stderr: a summary. Exit 0, 1 (I/O error), 2\n"
      "(usage).\n",
      kProg);
}

uint64_t parse_u64(const std::string& opt, const std::string& v, bool suffixes) {
  if (v.empty() || v[0] == '-') usage_error(opt + ": not a positive number: '" + v + "'");
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str()) usage_error(opt + ": not a number: '" + v + "'");
  std::string suf(end);
  uint64_t mult = 1;
  if (!suf.empty()) {
    if (!suffixes) usage_error(opt + ": not a number: '" + v + "'");
    char c = suf[0];
    if (c == 'k' || c == 'K') mult = 1ull << 10;
    else if (c == 'm' || c == 'M') mult = 1ull << 20;
    else if (c == 'g' || c == 'G') mult = 1ull << 30;
    else if (c == 't' || c == 'T') mult = 1ull << 40;
    else usage_error(opt + ": unknown size suffix in '" + v + "' (use K, M, G or T)");
    std::string rest = suf.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "iB" || rest == "b"))
      usage_error(opt + ": unknown size suffix in '" + v + "' (use K, M, G or T)");
  }
  if (n > UINT64_MAX / mult) usage_error(opt + ": too large: '" + v + "'");
  return static_cast<uint64_t>(n) * mult;
}

int64_t parse_i64(const std::string& opt, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || end == v.c_str() || *end != '\0')
    usage_error(opt + ": not an integer: '" + v + "'");
  return n;
}

double parse_double(const std::string& opt, const std::string& v, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (errno != 0 || end == v.c_str() || *end != '\0' || !(d >= lo && d <= hi))
    usage_error(opt + ": not a number in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]: '" + v + "'");
  return d;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      print_help();
      std::exit(0);
    }
    if (a == "-q" || a == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) usage_error("unexpected argument '" + a + "'");
    std::string name = a, val;
    bool has_val = false;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      name = a.substr(0, eq);
      val = a.substr(eq + 1);
      has_val = true;
    }
    auto value = [&]() -> std::string {
      if (has_val) return val;
      if (i + 1 >= argc) usage_error(name + ": needs a value");
      return argv[++i];
    };
    if (name == "--out") {
      o.out = value();
      if (o.out.empty()) usage_error("--out: empty directory name");
    } else if (name == "--prefix") {
      o.prefix = value();
      if (o.prefix.empty() || o.prefix.find('/') != std::string::npos)
        usage_error("--prefix: must be a non-empty file name without '/'");
    } else if (name == "--files") {
      o.files = parse_u64(name, value(), false);
      if (o.files == 0) usage_error("--files: must be at least 1");
    } else if (name == "--size") {
      o.size = parse_u64(name, value(), true);
      if (o.size == 0) usage_error("--size: must be at least 1");
    } else if (name == "--start") {
      o.start = parse_i64(name, value());
      if (o.start < 0 || o.start > 4000000000ll)
        usage_error("--start: must be in [0, 4000000000] (pcap holds 32-bit seconds)");
    } else if (name == "--rate") {
      o.rate = parse_double(name, value(), 0.001, 1e9);
    } else if (name == "--seed") {
      o.seed = parse_u64(name, value(), false);
    } else if (name == "--format") {
      std::string f = value();
      if (f == "pcap") o.format = Format::pcap;
      else if (f == "pcap-ns") o.format = Format::pcap_ns;
      else if (f == "pcapng") o.format = Format::pcapng;
      else if (f == "pcapng-ns") o.format = Format::pcapng_ns;
      else usage_error("--format: one of pcap, pcap-ns, pcapng, pcapng-ns, not '" + f + "'");
    } else if (name == "--linktype") {
      std::string l = value();
      if (l != "ether" && l != "en10mb" && l != "EN10MB" && l != "1")
        usage_error("--linktype: only 'ether' is supported, not '" + l + "'");
    } else if (name == "--layout") {
      std::string l = value();
      if (l == "daemonlogger") o.layout = Layout::daemonlogger;
      else if (l == "dumpcap") o.layout = Layout::dumpcap;
      else if (l == "tcpdump") o.layout = Layout::tcpdump;
      else usage_error("--layout: one of daemonlogger, dumpcap, tcpdump, not '" + l + "'");
    } else if (name == "--vlan-fraction") {
      o.vlan_fraction = parse_double(name, value(), 0.0, 1.0);
    } else if (name == "--hoi-fraction") {
      o.hoi_fraction = parse_double(name, value(), 0.0, 1.0);
    } else if (name == "--interleave") {
      uint64_t k = parse_u64(name, value(), false);
      if (k < 2 || k > 1000000) usage_error("--interleave: must be in [2, 1000000]");
      o.interleave = static_cast<uint32_t>(k);
    } else if (name == "--split-offset") {
      o.split_offset = parse_i64(name, value());
      if (o.split_offset < -1000000000ll || o.split_offset > 1000000000ll)
        usage_error("--split-offset: out of range");
    } else if (name == "--snaplen") {
      uint64_t s = parse_u64(name, value(), false);
      if (s < 64 || s > 262144) usage_error("--snaplen: must be in [64, 262144]");
      o.snaplen = static_cast<uint32_t>(s);
    } else {
      usage_error("unknown option '" + name + "'");
    }
  }
  if (o.out.empty()) usage_error("--out DIR is required");
  if (o.prefix.empty()) {
    o.prefix = o.layout == Layout::daemonlogger ? "daemonlogger.pcap"
               : o.layout == Layout::dumpcap    ? "ring"
                                                : "trace";
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// Randomness: splitmix64, one stream for the traffic model and one for payload bytes.

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // [0, n), by multiply-shift (a bias of n/2^32 at most: irrelevant here).
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }
  uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }  // [lo, hi]
  double unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  bool chance(double p) { return unit() < p; }
  uint32_t log_uniform(uint32_t lo, uint32_t hi) {
    double v = lo * std::exp(unit() * std::log(static_cast<double>(hi) / lo));
    uint32_t r = static_cast<uint32_t>(v);
    return r < lo ? lo : (r > hi ? hi : r);
  }
};

// ---------------------------------------------------------------------------------------
// Byte helpers

inline void be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void le16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}
inline void le64(uint8_t* p, uint64_t v) {
  le32(p, static_cast<uint32_t>(v));
  le32(p + 4, static_cast<uint32_t>(v >> 32));
}

// Internet checksum: the ones'-complement sum of native-order 16-bit words (summed here
// 32 bits at a time), stored back in native order: right on either byte order.
inline uint64_t csum_add(uint64_t acc, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    acc += (x & 0xffffffffu) + (x >> 32);
    p += 8;
    n -= 8;
  }
  if (n >= 4) {
    uint32_t x;
    std::memcpy(&x, p, 4);
    acc += x;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t x;
    std::memcpy(&x, p, 2);
    acc += x;
    p += 2;
    n -= 2;
  }
  if (n) {
    uint8_t b[2] = {p[0], 0};
    uint16_t x;
    std::memcpy(&x, b, 2);
    acc += x;
  }
  return acc;
}
inline uint16_t csum_fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// ---------------------------------------------------------------------------------------
// Hosts

constexpr uint32_t kInternal = 200;
constexpr uint32_t kServers = 10;  // internal hosts 0..9 also serve inbound connections
constexpr uint32_t kExt4 = 762;    // every usable address of the three RFC 5737 /24s
constexpr uint32_t kExt6 = 1238;   // 2001:db8::/32, to make ~2000 external hosts

const uint8_t kGatewayMac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x01};  // a VRRP router

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Internal host i: 10.0.(i/64).(20+i%64): never 10.0.0.7, which is kept for the host of
// interest (index kInternal).
void internal_v4(uint32_t i, uint8_t* ip) {
  ip[0] = 10;
  ip[1] = 0;
  if (i == kInternal) {
    ip[2] = 0;
    ip[3] = 7;
  } else {
    ip[2] = static_cast<uint8_t>(i / 64);
    ip[3] = static_cast<uint8_t>(20 + i % 64);
  }
}
void internal_v6(uint32_t i, uint8_t* ip) {  // 2001:db8:0:a::a00:<v4 low>
  static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(ip, base, 16);
  internal_v4(i, ip + 12);
}
void internal_mac(uint32_t i, uint8_t* mac) {
  uint8_t v4[4];
  internal_v4(i, v4);
  mac[0] = 0x02;
  mac[1] = 0x00;
  std::memcpy(mac + 2, v4, 4);
}
bool internal_windows(uint32_t i) { return i != kInternal && mix32(i + 17) % 3 == 0; }

void external_v4(uint32_t i, uint8_t* ip) {
  static const uint8_t nets[3][3] = {{192, 0, 2}, {198, 51, 100}, {203, 0, 113}};
  std::memcpy(ip, nets[i / 254], 3);
  ip[3] = static_cast<uint8_t>(1 + i % 254);
}
void external_v6(uint32_t i, uint8_t* ip) {  // 2001:db8:<100+i/64>::<10+i%64>
  std::memset(ip, 0, 16);
  ip[0] = 0x20;
  ip[1] = 0x01;
  ip[2] = 0x0d;
  ip[3] = 0xb8;
  be16(ip + 4, 0x100 + i / 64);
  be16(ip + 14, 0x10 + i % 64);
}
uint8_t external_ttl(uint32_t i, bool v6) {
  uint32_t h = mix32(i * 2 + (v6 ? 1 : 0) + 1000);
  uint32_t base = h % 20 < 12 ? 64 : (h % 20 < 17 ? 128 : 255);
  return static_cast<uint8_t>(base - 6 - (h >> 8) % 19);
}

// ---------------------------------------------------------------------------------------
// Flows

enum Kind : uint8_t {
  K_HTTPS, K_HTTP, K_SSH, K_SMTP, K_IRC, K_TCPX, K_DNS, K_NTP, K_QUIC, K_RTP, K_ICMP, K_COUNT
};
// Share of the packets of each kind. Each kind has its own flow slots and the next packet
// picks a kind by these shares, then one of its slots: so the packet mix is this table
// whatever the flow lengths (DNS flows are 2 or 4 packets, a download thousands).
const double kPacketShare[K_COUNT] = {
    /*HTTPS*/ 41, /*HTTP*/ 7, /*SSH*/ 5, /*SMTP*/ 2.5, /*IRC*/ 2.5, /*TCPX*/ 10,
    /*DNS*/ 11,   /*NTP*/ 1,  /*QUIC*/ 10, /*RTP*/ 6,   /*ICMP*/ 1.5};

enum TcpPhase : uint8_t { P_SYN, P_SYNACK, P_ACK, P_DATA, P_FIN_C, P_FIN_S, P_LAST, P_RST, P_DONE };

struct Flow {
  uint8_t kind = K_DNS;
  bool v6 = false;
  bool done = true;
  uint8_t proto = 0;
  uint16_t vlan = 0;
  uint8_t cip[16] = {}, sip[16] = {}, cmac[6] = {}, smac[6] = {};
  uint16_t cport = 0, sport = 0;
  uint8_t cttl = 64, sttl = 64;
  uint16_t cid = 0, sid = 0;  // IPv4 identification, per direction
  uint32_t flowlabel = 0;
  bool windows = false;  // client OS: ICMP payload, TTL, ports
  // TCP
  uint8_t phase = P_SYN;
  bool refused = false, rst_end = false;
  uint32_t cnext = 0, snext = 0;
  uint16_t cwin = 0, swin = 0;
  uint32_t msg_idx = 0, exch_left = 0;
  uint32_t cur_left = 0;
  bool cur_fc = true, msgs_done = false, bulk = false;
  uint8_t unacked = 0;
  const char* prefix = nullptr;
  uint32_t prefix_len = 0;
  char text[160] = {};
  // UDP, ICMP
  uint32_t step = 0, steps = 0;
  uint32_t aux = 0;
  uint64_t echo_ts = 0;
  uint16_t rtp_seq[2] = {0, 0};
  uint32_t rtp_ts[2] = {0, 0}, ssrc[2] = {0, 0};
};

struct Msg {
  bool fc;
  uint32_t len;
  const char* prefix;
  uint32_t prefix_len;
};

uint32_t web_response(Rng& r) {
  double u = r.unit();
  if (u < 0.60) return r.log_uniform(150, 4000);
  if (u < 0.90) return r.log_uniform(4000, 60000);
  if (u < 0.99) return r.log_uniform(60000, 1000000);
  return r.log_uniform(1000000, 8000000);
}

const char* const kHttpRequests[] = {
    "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; "
    "rv:115.0) Gecko/20100101 Firefox/115.0\r\nAccept: text/html,*/*\r\nAccept-Encoding: "
    "gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0 (Windows NT "
    "10.0; Win64; x64)\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
    "GET /updates/manifest.json HTTP/1.1\r\nHost: updates.example.com\r\nUser-Agent: "
    "curl/7.88.1\r\nAccept: */*\r\n\r\n",
    "GET /images/logo.png HTTP/1.1\r\nHost: images.example.com\r\nUser-Agent: Mozilla/5.0\r\n"
    "Accept: image/avif,image/webp,*/*\r\nReferer: http://www.example.com/\r\n\r\n",
    "GET /debian/dists/bookworm/InRelease HTTP/1.1\r\nHost: mirror.example.net\r\n"
    "User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n\r\n",
    "POST /api/v1/events HTTP/1.1\r\nHost: api.example.net\r\nContent-Type: "
    "application/json\r\nContent-Length: 0\r\n\r\n",
};
const char kSshClient[] = "SSH-2.0-OpenSSH_9.6\r\n";
const char kSshServer[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
const char kSmtp220[] = "220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n";
const char kSmtpEhlo[] = "EHLO client.example.com\r\n";
const char kSmtp250[] =
    "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
const char kSmtpStarttls[] = "STARTTLS\r\n";
const char kSmtpReady[] = "220 2.0.0 Ready to start TLS\r\n";
const char kIrcLogin[] = "NICK analyst7\r\nUSER analyst7 0 * :Analyst\r\n";

inline uint32_t slen(const char* s) { return static_cast<uint32_t>(std::strlen(s)); }

Msg text_msg(bool fc, const char* s) { return Msg{fc, slen(s), s, slen(s)}; }
Msg rand_msg(bool fc, uint32_t n) { return Msg{fc, n, nullptr, 0}; }

// The application script of a TCP connection: its next message, or false at the end.
bool next_msg(Flow& f, Rng& r, Msg& m) {
  const uint32_t i = f.msg_idx++;
  switch (f.kind) {
    case K_HTTPS:
      if (i == 0) { m = rand_msg(true, r.range(517, 620)); return true; }       // ClientHello
      if (i == 1) { m = rand_msg(false, r.log_uniform(1400, 6000)); return true; } // ServerHello..
      if (i == 2) { m = rand_msg(true, r.range(64, 160)); return true; }         // Finished
      if ((i - 3) % 2 == 0) {
        if (f.exch_left == 0) return false;
        m = rand_msg(true, r.log_uniform(150, 1200));
        return true;
      }
      --f.exch_left;
      m = rand_msg(false, web_response(r));
      return true;
    case K_HTTP: {
      if (i % 2 == 0) {
        if (f.exch_left == 0) return false;
        m = text_msg(true, kHttpRequests[r.below(sizeof kHttpRequests / sizeof *kHttpRequests)]);
        return true;
      }
      --f.exch_left;
      uint32_t body = web_response(r);
      int n = std::snprintf(f.text, sizeof f.text,
                            "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: "
                            "application/octet-stream\r\nContent-Length: %u\r\n\r\n",
                            body);
      m = Msg{false, body + static_cast<uint32_t>(n), f.text, static_cast<uint32_t>(n)};
      return true;
    }
    case K_SSH:
      switch (i) {
        case 0: m = text_msg(true, kSshClient); return true;
        case 1: m = text_msg(false, kSshServer); return true;
        case 2: m = rand_msg(true, r.range(1400, 1600)); return true;   // KEXINIT
        case 3: m = rand_msg(false, r.range(1000, 1200)); return true;
        case 4: m = rand_msg(true, r.range(44, 1250)); return true;     // KEX (PQ hybrid)
        case 5: m = rand_msg(false, r.range(400, 1600)); return true;
        default: break;
      }
      if (f.bulk) {  // scp/sftp: one big transfer either way, then a short goodbye
        if (i == 6) { m = rand_msg(r.chance(0.5), r.log_uniform(100000, 20000000)); return true; }
        if (i == 7) { m = rand_msg(true, 36); return true; }
        return false;
      }
      if ((i - 6) % 2 == 0) {
        if (f.exch_left == 0) return false;
        m = rand_msg(true, 36 + 16 * r.below(4));  // keystrokes
        return true;
      }
      --f.exch_left;
      m = rand_msg(false, r.chance(0.75) ? 36 + 16 * r.below(6) : r.log_uniform(200, 6000));
      return true;
    case K_SMTP:
      switch (i) {
        case 0: m = text_msg(false, kSmtp220); return true;
        case 1: m = text_msg(true, kSmtpEhlo); return true;
        case 2: m = text_msg(false, kSmtp250); return true;
        case 3: m = text_msg(true, kSmtpStarttls); return true;
        case 4: m = text_msg(false, kSmtpReady); return true;
        case 5: m = rand_msg(true, r.range(300, 560)); return true;     // TLS from here on
        case 6: m = rand_msg(false, r.log_uniform(2000, 5000)); return true;
        case 7: m = rand_msg(true, r.range(80, 120)); return true;
        default: break;
      }
      if ((i - 8) % 2 == 0) {
        if (f.exch_left == 0) return false;
        m = rand_msg(true, r.log_uniform(1500, 300000));  // a message
        return true;
      }
      --f.exch_left;
      m = rand_msg(false, r.range(40, 120));
      return true;
    case K_IRC:
      if (i == 0) { m = text_msg(true, kIrcLogin); return true; }
      if (i == 1) { m = rand_msg(false, r.log_uniform(500, 1400)); return true; }  // MOTD
      if (f.exch_left == 0) return false;
      --f.exch_left;
      m = rand_msg(r.chance(0.25), r.log_uniform(60, 420));  // one segment each
      return true;
    default:  // K_TCPX
      if (i % 2 == 0) {
        if (f.exch_left == 0) return false;
        m = rand_msg(true, r.log_uniform(20, 2000));
        return true;
      }
      --f.exch_left;
      m = rand_msg(false, r.log_uniform(20, 200000));
      return true;
  }
}

uint16_t ephemeral(Rng& r, bool windows) {
  return static_cast<uint16_t>(windows ? r.range(49152, 65535) : r.range(32768, 60999));
}

uint8_t pick_kind(Rng& r) {
  static double cum[K_COUNT];
  static double total = 0;
  if (total == 0) {
    for (int k = 0; k < K_COUNT; ++k) cum[k] = (total += kPacketShare[k]);
  }
  double u = r.unit() * total;
  int k = 0;
  while (k < K_COUNT - 1 && u >= cum[k]) ++k;
  return static_cast<uint8_t>(k);
}

void new_flow(Flow& f, Rng& r, uint8_t kind, bool hoi, const Options& o) {
  f = Flow();
  f.done = false;
  f.kind = kind;
  f.v6 = !hoi && r.chance(0.10);
  f.vlan = r.chance(o.vlan_fraction) ? static_cast<uint16_t>(10 * (1 + r.below(4))) : 0;
  f.flowlabel = r.next() & 0xfffff;
  f.cid = static_cast<uint16_t>(r.next());
  f.sid = static_cast<uint16_t>(r.next());

  // Who talks to whom: mostly internal clients to external servers; some inbound.
  bool inbound = false;
  if (!hoi) {
    if (f.kind == K_SSH || f.kind == K_SMTP || f.kind == K_HTTP || f.kind == K_HTTPS)
      inbound = r.chance(0.12);
    else if (f.kind == K_ICMP)
      inbound = r.chance(0.2);
  }
  double uh = r.unit();
  uint32_t in = hoi ? kInternal
                    : (inbound ? r.below(kServers) : static_cast<uint32_t>(kInternal * uh * uh));
  double ue = r.unit();
  uint32_t ex = f.v6 ? static_cast<uint32_t>(kExt6 * ue * ue * ue)
                     : static_cast<uint32_t>(kExt4 * ue * ue * ue);
  uint8_t in_ip[16], ex_ip[16], in_mac[6];
  if (f.v6) {
    internal_v6(in, in_ip);
    external_v6(ex, ex_ip);
  } else {
    internal_v4(in, in_ip);
    external_v4(ex, ex_ip);
  }
  internal_mac(in, in_mac);
  uint8_t in_ttl = internal_windows(in) ? 128 : 64;
  uint8_t ex_ttl = external_ttl(ex, f.v6);
  if (!inbound) {
    std::memcpy(f.cip, in_ip, 16);
    std::memcpy(f.sip, ex_ip, 16);
    std::memcpy(f.cmac, in_mac, 6);
    std::memcpy(f.smac, kGatewayMac, 6);
    f.cttl = in_ttl;
    f.sttl = ex_ttl;
    f.windows = in_ttl == 128;
  } else {
    std::memcpy(f.cip, ex_ip, 16);
    std::memcpy(f.sip, in_ip, 16);
    std::memcpy(f.cmac, kGatewayMac, 6);
    std::memcpy(f.smac, in_mac, 6);
    f.cttl = ex_ttl;
    f.sttl = in_ttl;
    f.windows = ex_ttl > 64 && ex_ttl <= 128;
  }
  f.cport = ephemeral(r, f.windows);

  switch (f.kind) {
    case K_HTTPS: f.sport = 443; f.exch_left = r.chance(0.6) ? 1 : r.range(2, 12); break;
    case K_HTTP: f.sport = 80; f.exch_left = r.chance(0.6) ? 1 : r.range(2, 5); break;
    case K_SSH:
      f.sport = 22;
      f.bulk = r.chance(0.08);
      f.exch_left = r.log_uniform(5, 400);
      break;
    case K_SMTP: f.sport = 25; f.exch_left = r.range(1, 3); break;
    case K_IRC: f.sport = 6667; f.exch_left = r.log_uniform(20, 800); break;
    case K_TCPX: {
      // TLS services, where random payload is what a sensor sees anyway.
      static const uint16_t ports[] = {8443, 993, 995, 465, 636, 853, 5061, 8883, 9443};
      f.sport = r.chance(0.6) ? ports[r.below(sizeof ports / sizeof *ports)]
                              : static_cast<uint16_t>(r.range(1024, 49151));
      f.exch_left = r.log_uniform(1, 20);
      break;
    }
    case K_DNS:
      f.sport = 53;
      f.steps = r.chance(0.4) ? 4 : 2;  // A, then AAAA
      f.aux = static_cast<uint32_t>(r.next());
      break;
    case K_NTP:
      f.sport = 123;
      if (r.chance(0.3)) f.cport = 123;
      f.steps = 2 * r.range(1, 4);
      break;
    case K_QUIC:
      f.sport = 443;
      f.steps = r.log_uniform(8, 3000);
      f.aux = static_cast<uint32_t>(r.next());
      break;
    case K_RTP:
      f.cport = static_cast<uint16_t>(2 * r.range(5000, 10000));
      f.sport = static_cast<uint16_t>(2 * r.range(5000, 10000));
      f.steps = r.log_uniform(200, 6000);
      for (int d = 0; d < 2; ++d) {
        f.rtp_seq[d] = static_cast<uint16_t>(r.next());
        f.rtp_ts[d] = static_cast<uint32_t>(r.next());
        f.ssrc[d] = static_cast<uint32_t>(r.next());
      }
      break;
    default:  // K_ICMP
      f.steps = 2 * r.range(1, 8);
      f.aux = r.below(65536);  // echo identifier
      break;
  }
  if (f.kind <= K_TCPX) {
    f.proto = 6;
    f.cnext = static_cast<uint32_t>(r.next());
    f.snext = static_cast<uint32_t>(r.next());
    f.cwin = static_cast<uint16_t>(r.range(500, 4000));
    f.swin = static_cast<uint16_t>(r.range(500, 4000));
    f.refused = r.chance(0.03);
    f.rst_end = r.chance(0.05);
  } else if (f.kind == K_ICMP) {
    f.proto = f.v6 ? 58 : 1;
  } else {
    f.proto = 17;
  }
}

// ---------------------------------------------------------------------------------------
// Frames

struct Frame {
  uint8_t* base;
  uint8_t* l3;
  uint8_t* l4;
};

uint8_t* frame_begin(uint8_t* out, const Flow& f, bool fc, Frame& fr) {
  fr.base = out;
  std::memcpy(out, fc ? f.smac : f.cmac, 6);
  std::memcpy(out + 6, fc ? f.cmac : f.smac, 6);
  uint8_t* p = out + 12;
  if (f.vlan) {
    be16(p, 0x8100);
    be16(p + 2, f.vlan);
    p += 4;
  }
  be16(p, f.v6 ? 0x86dd : 0x0800);
  fr.l3 = p + 2;
  fr.l4 = fr.l3 + (f.v6 ? 40 : 20);
  return fr.l4;
}

// Writes the IP header, the L4 checksum at csum_off (none if < 0), pads to 60 bytes.
uint32_t frame_end(const Frame& fr, Flow& f, bool fc, uint32_t l4len, int csum_off) {
  uint8_t* ip = fr.l3;
  const uint8_t* src = fc ? f.cip : f.sip;
  const uint8_t* dst = fc ? f.sip : f.cip;
  uint64_t pseudo = 0;
  if (!f.v6) {
    ip[0] = 0x45;
    ip[1] = 0;
    be16(ip + 2, 20 + l4len);
    uint16_t& id = fc ? f.cid : f.sid;
    be16(ip + 4, id++);
    be16(ip + 6, f.proto == 1 ? 0 : 0x4000);  // DF, but not on pings
    ip[8] = fc ? f.cttl : f.sttl;
    ip[9] = f.proto;
    ip[10] = ip[11] = 0;
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    uint16_t c = csum_fold(csum_add(0, ip, 20));
    std::memcpy(ip + 10, &c, 2);
    if (f.proto != 1) {
      uint8_t ph[12];
      std::memcpy(ph, src, 4);
      std::memcpy(ph + 4, dst, 4);
      ph[8] = 0;
      ph[9] = f.proto;
      be16(ph + 10, l4len);
      pseudo = csum_add(0, ph, 12);
    }
  } else {
    be32(ip, 0x60000000u | f.flowlabel);
    be16(ip + 4, l4len);
    ip[6] = f.proto;
    ip[7] = fc ? f.cttl : f.sttl;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
    uint8_t ph[40];
    std::memcpy(ph, src, 16);
    std::memcpy(ph + 16, dst, 16);
    be32(ph + 32, l4len);
    ph[36] = ph[37] = ph[38] = 0;
    ph[39] = f.proto;
    pseudo = csum_add(0, ph, 40);
  }
  if (csum_off >= 0) {
    uint8_t* c = fr.l4 + csum_off;
    c[0] = c[1] = 0;
    uint16_t s = csum_fold(csum_add(pseudo, fr.l4, l4len));
    if (f.proto == 17 && s == 0) s = 0xffff;
    std::memcpy(c, &s, 2);
  }
  uint32_t len = static_cast<uint32_t>(fr.l4 + l4len - fr.base);
  if (len < 60) {
    std::memset(fr.base + len, 0, 60 - len);
    len = 60;
  }
  return len;
}

inline void fill_random(uint8_t* p, uint32_t n, Rng& pay) {
  while (n >= 8) {
    uint64_t x = pay.next();
    std::memcpy(p, &x, 8);
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t x = pay.next();
    std::memcpy(p, &x, n);
  }
}

// Plain-text IRC lines (client: "PRIVMSG #nsm :...", server: ":peer!... PRIVMSG ...")
// filling exactly n bytes; messages are at least 60 bytes, so every line has its header.
void fill_irc(uint8_t* p, uint32_t n, bool fc, Rng& pay) {
  static const char cli[] = "PRIVMSG #nsm :";
  static const char srv[] = ":peer!~peer@irc.example.net PRIVMSG #nsm :";
  const char* h = fc ? cli : srv;
  const uint32_t hl = fc ? sizeof cli - 1 : sizeof srv - 1;
  uint32_t i = 0;
  while (i < n) {
    const uint32_t left = n - i;
    uint32_t line = left;
    if (left > 2 * (hl + 40)) line = hl + 40 + static_cast<uint32_t>(pay.next() % 80);
    uint32_t j = 0;
    if (line >= hl + 3) {
      std::memcpy(p + i, h, hl);
      j = hl;
    }
    uint64_t bits = 0;
    for (int avail = 0; j + 2 < line; ++j, bits >>= 8, --avail) {
      if (avail == 0) {
        bits = pay.next();
        avail = 8;
      }
      const uint32_t b = bits & 0xff;
      p[i + j] = b < 40 ? ' ' : static_cast<uint8_t>('a' + b % 26);
    }
    if (line >= 2) p[i + j++] = '\r';
    p[i + j] = '\n';
    i += line;
  }
}

enum : uint8_t { TH_FIN = 1, TH_SYN = 2, TH_RST = 4, TH_PSH = 8, TH_ACK = 16 };

uint32_t tcp_segment(uint8_t* out, Flow& f, bool fc, uint8_t flags, uint32_t n, Rng& pay) {
  Frame fr;
  uint8_t* t = frame_begin(out, f, fc, fr);
  be16(t, fc ? f.cport : f.sport);
  be16(t + 2, fc ? f.sport : f.cport);
  uint32_t& seq = fc ? f.cnext : f.snext;
  uint32_t ack = fc ? f.snext : f.cnext;
  be32(t + 4, seq);
  be32(t + 8, (flags & TH_ACK) ? ack : 0);
  uint32_t hl = (flags & TH_SYN) ? 32 : 20;
  t[12] = static_cast<uint8_t>((hl / 4) << 4);
  t[13] = flags;
  be16(t + 14, (flags & TH_SYN) ? 64240 : (fc ? f.cwin : f.swin));
  be16(t + 18, 0);
  if (flags & TH_SYN) {
    static const uint8_t opts[12] = {2, 4, 0, 0, 1, 1, 4, 2, 1, 3, 3, 7};
    std::memcpy(t + 20, opts, 12);
    be16(t + 22, f.v6 ? 1440 : 1460);
  }
  uint8_t* p = t + hl;
  if (n) {
    uint32_t k = 0;
    if (f.prefix) {
      k = f.prefix_len < n ? f.prefix_len : n;
      std::memcpy(p, f.prefix, k);
      f.prefix = nullptr;
    }
    if (f.kind == K_IRC)
      fill_irc(p + k, n - k, fc, pay);
    else
      fill_random(p + k, n - k, pay);
  }
  seq += n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
  return frame_end(fr, f, fc, hl + n, 16);
}

uint32_t tcp_next(uint8_t* out, Flow& f, Rng& r, Rng& pay) {
  const uint32_t mss = f.v6 ? 1440 : 1460;
  switch (f.phase) {
    case P_SYN:
      f.phase = f.refused ? P_RST : P_SYNACK;
      return tcp_segment(out, f, true, TH_SYN, 0, pay);
    case P_SYNACK:
      f.phase = P_ACK;
      return tcp_segment(out, f, false, TH_SYN | TH_ACK, 0, pay);
    case P_ACK:
      f.phase = P_DATA;
      f.cur_fc = true;
      f.unacked = 0;
      return tcp_segment(out, f, true, TH_ACK, 0, pay);
    case P_DATA: {
      if (f.unacked >= 2) {  // the receiver's (delayed) ACK for every second segment
        f.unacked = 0;
        return tcp_segment(out, f, !f.cur_fc, TH_ACK, 0, pay);
      }
      if (f.cur_left == 0 && !f.msgs_done) {
        Msg m;
        if (next_msg(f, r, m)) {
          if (m.fc != f.cur_fc) f.unacked = 0;  // the reply carries the ACK
          f.cur_fc = m.fc;
          f.cur_left = m.len;
          f.prefix = m.prefix;
          f.prefix_len = m.prefix_len;
        } else {
          f.msgs_done = true;
        }
      }
      if (f.cur_left > 0) {
        uint32_t n = f.cur_left < mss ? f.cur_left : mss;
        if (n == mss && f.cur_left > mss && r.chance(0.08)) n = r.range(200, mss - 1);  // a push
        f.cur_left -= n;
        ++f.unacked;
        return tcp_segment(out, f, f.cur_fc, TH_ACK | (f.cur_left == 0 ? TH_PSH : 0), n, pay);
      }
      if (f.unacked > 0) {
        f.unacked = 0;
        return tcp_segment(out, f, !f.cur_fc, TH_ACK, 0, pay);
      }
      if (f.rst_end) {
        f.done = true;
        return tcp_segment(out, f, false, TH_RST | TH_ACK, 0, pay);
      }
      f.phase = P_FIN_S;
      return tcp_segment(out, f, true, TH_FIN | TH_ACK, 0, pay);
    }
    case P_FIN_S:
      f.phase = P_LAST;
      return tcp_segment(out, f, false, TH_FIN | TH_ACK, 0, pay);
    case P_LAST:
      f.done = true;
      return tcp_segment(out, f, true, TH_ACK, 0, pay);
    default:  // P_RST: the refusal of a SYN
      f.done = true;
      return tcp_segment(out, f, false, TH_RST | TH_ACK, 0, pay);
  }
}

const char* const kDnsNames[] = {
    "www.example.com", "example.com",     "mail.example.org",   "api.example.net",
    "cdn.example.net", "static.example.com", "login.example.org", "updates.example.com",
    "time.example.net", "ntp.example.org", "images.example.com", "docs.example.org",
    "vpn.example.com", "smtp.example.net", "chat.example.org",  "mirror.example.net",
};
constexpr uint32_t kDnsNameCount = sizeof kDnsNames / sizeof *kDnsNames;

uint8_t* dns_name(uint8_t* p, const char* name) {
  while (*name) {
    const char* dot = std::strchr(name, '.');
    size_t n = dot ? static_cast<size_t>(dot - name) : std::strlen(name);
    *p++ = static_cast<uint8_t>(n);
    std::memcpy(p, name, n);
    p += n;
    name += n + (dot ? 1 : 0);
  }
  *p++ = 0;
  return p;
}

uint32_t dns_payload(uint8_t* p, const Flow& f, bool response) {
  const uint32_t q = f.step / 2;
  const uint16_t qtype = q == 0 ? 1 : 28;  // A, then AAAA
  const uint32_t which = f.aux % (kDnsNameCount + 2);
  const bool random_label = which >= kDnsNameCount;  // a CDN or tracker style name
  const bool nx = random_label && ((f.aux >> 8) & 1);
  const uint32_t answers = response && !nx ? 1 + ((f.aux >> 9) & 1) : 0;
  be16(p, static_cast<uint16_t>((f.aux >> 16) + q));
  be16(p + 2, response ? (nx ? 0x8183 : 0x8180) : 0x0100);
  be16(p + 4, 1);
  be16(p + 6, answers);
  be16(p + 8, 0);
  be16(p + 10, 0);
  uint8_t* e;
  if (random_label) {
    char name[40];
    std::snprintf(name, sizeof name, "%08x.t.example.net", mix32(f.aux));
    e = dns_name(p + 12, name);
  } else {
    e = dns_name(p + 12, kDnsNames[which]);
  }
  be16(e, qtype);
  be16(e + 2, 1);
  e += 4;
  for (uint32_t a = 0; a < answers; ++a) {
    be16(e, 0xc00c);
    be16(e + 2, qtype);
    be16(e + 4, 1);
    be32(e + 6, 60 + (f.aux >> 20) % 3600);
    if (qtype == 1) {
      be16(e + 10, 4);
      external_v4((f.aux + a * 7) % kExt4, e + 12);
      e += 16;
    } else {
      be16(e + 10, 16);
      external_v6((f.aux + a * 7) % kExt6, e + 12);
      e += 28;
    }
  }
  return static_cast<uint32_t>(e - p);
}

uint32_t ntp_payload(uint8_t* p, bool response, uint64_t ts, uint64_t unit, Rng& r) {
  const uint64_t sec = ts / unit + 2208988800ull;  // NTP era 0
  const uint32_t frac = static_cast<uint32_t>(((ts % unit) << 32) / unit);
  std::memset(p, 0, 48);
  if (!response) {
    p[0] = 0x23;  // LI 0, VN 4, mode 3 (client)
    p[2] = 6;
    p[3] = 0xe9;
    be32(p + 40, static_cast<uint32_t>(sec));
    be32(p + 44, frac);
  } else {
    p[0] = 0x24;  // mode 4 (server)
    p[1] = 2;     // stratum 2
    p[2] = 6;
    p[3] = 0xe7;
    be32(p + 4, r.range(0x100, 0x800));
    be32(p + 8, r.range(0x100, 0x800));
    external_v4(r.below(kExt4), p + 12);  // reference id: its upstream server
    be32(p + 16, static_cast<uint32_t>(sec - r.range(10, 1000)));
    be32(p + 24, static_cast<uint32_t>(sec));  // origin: the client's transmit time
    be32(p + 32, static_cast<uint32_t>(sec));
    be32(p + 36, frac);
    be32(p + 40, static_cast<uint32_t>(sec));
    be32(p + 44, frac + 20000);
  }
  return 48;
}

uint32_t udp_next(uint8_t* out, Flow& f, uint64_t ts, uint64_t unit, Rng& r, Rng& pay) {
  bool fc;
  switch (f.kind) {
    case K_QUIC: fc = f.step == 0 || (f.step >= 2 && r.chance(0.22)); break;
    case K_RTP: fc = r.chance(0.5); break;
    default: fc = f.step % 2 == 0; break;
  }
  Frame fr;
  uint8_t* u = frame_begin(out, f, fc, fr);
  be16(u, fc ? f.cport : f.sport);
  be16(u + 2, fc ? f.sport : f.cport);
  uint8_t* p = u + 8;
  uint32_t n = 0;
  switch (f.kind) {
    case K_DNS: n = dns_payload(p, f, !fc); break;
    case K_NTP: n = ntp_payload(p, !fc, ts, unit, r); break;
    case K_QUIC:
      if (f.step < 2) {  // Initial packets, padded to 1200+ bytes
        n = r.range(1230, 1252);
        p[0] = 0xc3;
        be32(p + 1, 1);  // QUIC v1
        uint8_t* q = p + 5;
        *q++ = fc ? 8 : 0;  // DCID: the client's random one; the client has no SCID
        if (fc) { be32(q, f.aux); be32(q + 4, mix32(f.aux)); q += 8; }
        *q++ = fc ? 0 : 8;
        if (!fc) { be32(q, mix32(f.aux + 1)); be32(q + 4, mix32(f.aux + 2)); q += 8; }
        *q++ = 0;  // token length
        uint32_t rest = static_cast<uint32_t>(n - (q + 2 - p));
        be16(q, 0x4000 | rest);
        fill_random(q + 2, rest, pay);
      } else {  // 1-RTT short header packets: data down, ACKs up
        n = fc ? r.range(30, 60) : (r.chance(0.75) ? r.range(1200, 1350) : r.log_uniform(60, 1200));
        fill_random(p, n, pay);
        p[0] = static_cast<uint8_t>(0x40 | (p[0] & 0x3f));
      }
      break;
    case K_RTP: {
      const int d = fc ? 0 : 1;
      p[0] = 0x80;
      p[1] = 0;  // PCMU
      be16(p + 2, f.rtp_seq[d]++);
      be32(p + 4, f.rtp_ts[d]);
      f.rtp_ts[d] += 160;
      be32(p + 8, f.ssrc[d]);
      fill_random(p + 12, 160, pay);
      n = 172;
      break;
    }
    default: break;
  }
  be16(u + 4, 8 + n);
  if (++f.step >= f.steps) f.done = true;
  return frame_end(fr, f, fc, 8 + n, 6);
}

uint32_t icmp_next(uint8_t* out, Flow& f, uint64_t ts, uint64_t unit) {
  const bool fc = f.step % 2 == 0;
  Frame fr;
  uint8_t* c = frame_begin(out, f, fc, fr);
  c[0] = f.v6 ? (fc ? 128 : 129) : (fc ? 8 : 0);
  c[1] = 0;
  be16(c + 2, 0);
  be16(c + 4, f.aux);
  be16(c + 6, 1 + f.step / 2);
  uint32_t n;
  if (f.windows) {
    static const char alpha[] = "abcdefghijklmnopqrstuvwabcdefghi";
    n = 32;
    std::memcpy(c + 8, alpha, n);
  } else {  // Linux ping: a struct timeval, then 0x10, 0x11, ...
    if (fc) f.echo_ts = ts;
    n = 56;
    le64(c + 8, f.echo_ts / unit);
    le64(c + 16, (f.echo_ts % unit) * 1000000 / unit);
    for (uint32_t i = 16; i < n; ++i) c[8 + i] = static_cast<uint8_t>(i);
  }
  if (++f.step >= f.steps) f.done = true;
  return frame_end(fr, f, fc, 8 + n, 2);
}

// ---------------------------------------------------------------------------------------
// Output

class Writer {
 public:
  explicit Writer(size_t cap) : buf_(cap) {}

  void open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fatal("cannot create " + path, errno);
    file_bytes_ = 0;
  }
  // Room for at least n bytes at the returned pointer.
  uint8_t* reserve(size_t n) {
    if (buf_.size() - used_ < n) flush();
    return buf_.data() + used_;
  }
  void commit(size_t n) {
    used_ += n;
    file_bytes_ += n;
  }
  uint64_t file_bytes() const { return file_bytes_; }
  void close(uint64_t last_sec, uint64_t last_nsec) {
    flush();
    struct timespec t[2];
    t[0].tv_sec = t[1].tv_sec = static_cast<time_t>(last_sec);
    t[0].tv_nsec = t[1].tv_nsec = static_cast<long>(last_nsec);
    if (::futimens(fd_, t) != 0) fatal("cannot set the times of " + path_, errno);
    if (::close(fd_) != 0) fatal("cannot close " + path_, errno);
    fd_ = -1;
  }

 private:
  void flush() {
    const uint8_t* p = buf_.data();
    size_t left = used_;
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        fatal("cannot write " + path_, errno);
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    used_ = 0;
  }

  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  std::string path_;
};

void make_dirs(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    cur = dir.substr(0, slash);
    pos = slash + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      fatal("cannot create directory " + cur, errno);
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) fatal("cannot use directory " + dir, errno);
  if (!S_ISDIR(st.st_mode)) fatal("cannot use directory " + dir, ENOTDIR);
}

std::string file_name(const Options& o, uint64_t index, int64_t name_sec) {
  const bool ng = o.format == Format::pcapng || o.format == Format::pcapng_ns;
  const char* ext = ng ? "pcapng" : "pcap";
  char stamp[32] = "";
  time_t t = static_cast<time_t>(name_sec);
  struct tm tmv;
  if (::gmtime_r(&t, &tmv)) std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tmv);
  char buf[64];
  switch (o.layout) {
    case Layout::daemonlogger:  // daemonlogger: "%s/%s.%lu", dir, prefix, time(NULL)
      return o.prefix + "." + std::to_string(name_sec);
    case Layout::dumpcap:  // dumpcap ring buffer: prefix_%05d_%Y%m%d%H%M%S.ext
      std::snprintf(buf, sizeof buf, "_%05llu_%s.", static_cast<unsigned long long>(index),
                    stamp);
      return o.prefix + buf + ext;
    default:  // tcpdump -G -w 'prefix.%Y%m%d%H%M%S.ext'
      return o.prefix + "." + stamp + "." + ext;
  }
}

size_t file_header(uint8_t* p, const Options& o) {
  if (o.format == Format::pcap || o.format == Format::pcap_ns) {
    le32(p, o.format == Format::pcap ? 0xa1b2c3d4u : 0xa1b23c4du);
    le16(p + 4, 2);
    le16(p + 6, 4);
    le32(p + 8, 0);
    le32(p + 12, 0);
    le32(p + 16, o.snaplen);
    le32(p + 20, 1);  // LINKTYPE_ETHERNET
    return 24;
  }
  // pcapng: a Section Header Block with shb_userappl, an Interface Description Block.
  static const char app[] = "make_archive (capture bench)";
  const uint32_t app_len = sizeof app - 1;
  const uint32_t app_pad = (app_len + 3) & ~3u;
  const uint32_t shb_len = 28 + 4 + app_pad + 4;
  le32(p, 0x0a0d0d0a);
  le32(p + 4, shb_len);
  le32(p + 8, 0x1a2b3c4d);
  le16(p + 12, 1);
  le16(p + 14, 0);
  le64(p + 16, ~0ull);
  le16(p + 24, 4);
  le16(p + 26, app_len);
  std::memset(p + 28, 0, app_pad);
  std::memcpy(p + 28, app, app_len);
  le32(p + 28 + app_pad, 0);
  le32(p + shb_len - 4, shb_len);
  uint8_t* q = p + shb_len;
  const uint32_t idb_len = 20 + 8 + 4;
  le32(q, 1);
  le32(q + 4, idb_len);
  le16(q + 8, 1);
  le16(q + 10, 0);
  le32(q + 12, o.snaplen);
  le16(q + 16, 9);  // if_tsresol
  le16(q + 18, 1);
  q[20] = o.format == Format::pcapng_ns ? 9 : 6;
  q[21] = q[22] = q[23] = 0;
  le32(q + 24, 0);
  le32(q + 28, idb_len);
  return shb_len + idb_len;
}

// The flow table: slot 0 holds the host of interest's flow; each kind has its own group
// of slots, about interleave * share of them (at least one).
class Traffic {
 public:
  Traffic(const Options& o, uint64_t unit)
      : o_(o), unit_(unit), rng_(o.seed * 0x9e3779b97f4a7c15ull + 0x1234567),
        pay_(o.seed ^ 0xd1b54a32d192ed03ull) {
    double total = 0;
    for (double w : kPacketShare) total += w;
    uint32_t n = 1;
    for (int k = 0; k < K_COUNT; ++k) {
      uint32_t c = static_cast<uint32_t>((o.interleave - 1) * kPacketShare[k] / total + 0.5);
      first_[k] = n;
      count_[k] = c < 1 ? 1 : c;
      n += count_[k];
    }
    flows_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      uint8_t kind = i == 0 ? pick_kind(rng_) : kind_of_slot(i);
      new_flow(flows_[i], rng_, kind, i == 0, o_);
    }
  }

  // Writes the next frame at out; returns its length.
  uint32_t next(uint8_t* out, uint64_t ts) {
    uint32_t slot;
    if (rng_.chance(o_.hoi_fraction)) {
      slot = 0;
    } else {
      uint8_t k = pick_kind(rng_);
      slot = first_[k] + rng_.below(count_[k]);
    }
    Flow& f = flows_[slot];
    if (f.done) new_flow(f, rng_, slot == 0 ? pick_kind(rng_) : f.kind, slot == 0, o_);
    last_hoi = slot == 0;
    last_v6 = f.v6;
    last_proto = f.proto;
    if (f.proto == 6) return tcp_next(out, f, rng_, pay_);
    if (f.proto == 17) return udp_next(out, f, ts, unit_, rng_, pay_);
    return icmp_next(out, f, ts, unit_);
  }

  double unit_random() { return rng_.unit(); }
  size_t slots() const { return flows_.size(); }

  bool last_hoi = false, last_v6 = false;
  uint8_t last_proto = 0;

 private:
  uint8_t kind_of_slot(uint32_t i) const {
    for (int k = K_COUNT - 1; k >= 0; --k)
      if (i >= first_[k]) return static_cast<uint8_t>(k);
    return 0;
  }

  const Options& o_;
  uint64_t unit_;
  Rng rng_, pay_;
  std::vector<Flow> flows_;
  uint32_t first_[K_COUNT] = {}, count_[K_COUNT] = {};
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  make_dirs(o.out);

  const bool ns = o.format == Format::pcap_ns || o.format == Format::pcapng_ns;
  const bool ng = o.format == Format::pcapng || o.format == Format::pcapng_ns;
  const uint64_t unit = ns ? 1000000000ull : 1000000ull;  // timestamp units per second
  const bool time_names = o.layout != Layout::dumpcap;    // names of seconds only
  const double mean_gap = static_cast<double>(unit) / o.rate;
  const uint32_t rec_hdr = ng ? 28 : 16;

  Traffic traffic(o, unit);
  {  // warm up, so that the capture starts in the middle of things, as a real one does
    std::vector<uint8_t> scratch(4096);
    for (size_t i = 0; i < 40 * traffic.slots(); ++i)
      traffic.next(scratch.data(), static_cast<uint64_t>(o.start) * unit);
  }

  Writer w(4u << 20);
  uint64_t ts = static_cast<uint64_t>(o.start) * unit;
  bool first = true, open = false;
  int64_t last_name_sec = INT64_MIN;
  uint64_t files_done = 0, packets = 0, wire_bytes = 0, file_total = 0, hoi = 0, v6 = 0;
  uint64_t tcp = 0, udp = 0, icmp = 0, jumps = 0;
  uint64_t first_ts = ts;
  std::string path;

  while (files_done < o.files) {
    if (!first) {
      double e = -std::log(1.0 - traffic.unit_random()) * mean_gap;
      uint64_t d = e < 1.0 ? 1 : static_cast<uint64_t>(e);
      ts += d;
    }
    first = false;
    if (!open) {
      int64_t sec = static_cast<int64_t>(ts / unit);
      if (time_names && sec <= last_name_sec) {
        sec = last_name_sec + 1;
        ts = static_cast<uint64_t>(sec) * unit;
        ++jumps;
      }
      last_name_sec = sec;
      path = o.out + "/" + file_name(o, files_done + 1, sec + o.split_offset);
      w.open(path);
      uint8_t* h = w.reserve(256);
      w.commit(file_header(h, o));
      open = true;
    }

    uint8_t* rec = w.reserve(rec_hdr + 2048 + 8);
    uint8_t* frame = rec + rec_hdr;
    const uint32_t len = traffic.next(frame, ts);
    if (traffic.last_proto == 6) ++tcp;
    else if (traffic.last_proto == 17) ++udp;
    else ++icmp;
    if (traffic.last_hoi) ++hoi;
    if (traffic.last_v6) ++v6;
    const uint32_t cap = len < o.snaplen ? len : o.snaplen;
    size_t rec_len;
    if (!ng) {
      le32(rec, static_cast<uint32_t>(ts / unit));
      le32(rec + 4, static_cast<uint32_t>(ts % unit));
      le32(rec + 8, cap);
      le32(rec + 12, len);
      rec_len = 16 + cap;
    } else {
      const uint32_t padded = (cap + 3) & ~3u;
      rec_len = 32 + padded;
      le32(rec, 6);
      le32(rec + 4, static_cast<uint32_t>(rec_len));
      le32(rec + 8, 0);
      le32(rec + 12, static_cast<uint32_t>(ts >> 32));
      le32(rec + 16, static_cast<uint32_t>(ts));
      le32(rec + 20, cap);
      le32(rec + 24, len);
      std::memset(frame + cap, 0, padded - cap);
      le32(frame + padded, static_cast<uint32_t>(rec_len));
    }
    w.commit(rec_len);
    ++packets;
    wire_bytes += len;

    if (w.file_bytes() >= o.size) {
      file_total += w.file_bytes();
      w.close(ts / unit, (ts % unit) * (1000000000ull / unit));
      open = false;
      ++files_done;
      std::printf("%s\n", path.c_str());
    }
  }
  std::fflush(stdout);

  if (!o.quiet) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double span = static_cast<double>(ts - first_ts) / static_cast<double>(unit);
    std::fprintf(stderr,
                 "%s: %llu files, %llu bytes, %llu packets (mean frame %.1f bytes; "
                 "TCP %.1f%%, UDP %.1f%%, ICMP %.1f%%, IPv6 %.1f%%), "
                 "10.0.0.7 in %llu packets (%.2f%%), %.1f s of traffic from %lld; "
                 "%llu clock jump(s) to keep names unique; written in %.2f s (%.0f MiB/s)\n",
                 kProg, static_cast<unsigned long long>(files_done),
                 static_cast<unsigned long long>(file_total),
                 static_cast<unsigned long long>(packets),
                 static_cast<double>(wire_bytes) / static_cast<double>(packets),
                 100.0 * static_cast<double>(tcp) / static_cast<double>(packets),
                 100.0 * static_cast<double>(udp) / static_cast<double>(packets),
                 100.0 * static_cast<double>(icmp) / static_cast<double>(packets),
                 100.0 * static_cast<double>(v6) / static_cast<double>(packets),
                 static_cast<unsigned long long>(hoi),
                 100.0 * static_cast<double>(hoi) / static_cast<double>(packets), span,
                 static_cast<long long>(o.start), static_cast<unsigned long long>(jumps), secs,
                 static_cast<double>(file_total) / (1024.0 * 1024.0) / (secs > 0 ? secs : 1e-9));
  }
  return 0;
}
