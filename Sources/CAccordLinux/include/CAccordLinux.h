#ifndef CACCORD_LINUX_H
#define CACCORD_LINUX_H
// Linux interfaces the Glibc module does not export to Swift: epoll, eventfd, accept4, TCP options.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <malloc.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (glibc declares accept4 only under _GNU_SOURCE).
int caccord_accept_nonblocking(int fd, struct sockaddr *address, socklen_t *length);
#endif
