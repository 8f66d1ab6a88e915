// udp_blast: sends N UDP datagrams to 127.0.0.1:PORT as fast as it can,
// in batches of sendmmsg(2), for bench_live.sh. Loopback only, by design:
// the address is not a parameter.
//
// Usage: udp_blast PORT COUNT [PAYLOAD_BYTES]
// Prints the number sent and the seconds it took.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: udp_blast PORT COUNT [PAYLOAD_BYTES]\n");
        return 2;
    }
    int port = std::atoi(argv[1]);
    long long count = std::atoll(argv[2]);
    std::size_t payload = argc > 3 ? static_cast<std::size_t>(std::atol(argv[3])) : 64;
    if (port <= 0 || port > 65535 || count <= 0 || payload < 8 || payload > 8192) {
        std::fprintf(stderr, "udp_blast: bad arguments\n");
        return 2;
    }
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        std::perror("udp_blast: socket");
        return 1;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    constexpr int batch = 64;
    std::vector<std::vector<char>> bufs(batch, std::vector<char>(payload, 'x'));
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    for (int i = 0; i < batch; ++i) {
        iov[i] = {bufs[i].data(), payload};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    long long sent = 0;
    while (sent < count) {
        int n = static_cast<int>(count - sent < batch ? count - sent : batch);
        for (int i = 0; i < n; ++i) {
            long long seq = sent + i;
            std::memcpy(bufs[i].data(), &seq, sizeof seq);  // each datagram distinct
        }
        int r = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) continue;
            std::perror("udp_blast: sendmmsg");
            return 1;
        }
        sent += r;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%lld %.3f\n", sent, s);
    ::close(fd);
    return 0;
}
