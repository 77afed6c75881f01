/*
 * pam_rdsiam: the PAM module of the fake RDS test peers (PostgreSQL and
 * MariaDB). It reads PAM_AUTHTOK whole (pam_exec copies at most 511 bytes,
 * and tokens signed with session credentials are over 1 KB) and hands the
 * PAM user and the token to the verifier listening on the unix socket named
 * by the module argument socket=PATH:
 *
 *     USER "\n" TOKEN, then end of stream
 *
 * The verifier answers "OK" or "DENY reason"; anything else, or no answer,
 * refuses the login. The token never appears in argv or in a log.
 *
 * Build: gcc -shared -fPIC -o pam_rdsiam.so pam_rdsiam.c -lpam
 */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

static const char *arg_value(int argc, const char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], name, n) == 0)
			return argv[i] + n;
	}
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	const char *sock = arg_value(argc, argv, "socket=");
	if (sock == NULL) {
		pam_syslog(pamh, LOG_ERR, "no socket= argument");
		return PAM_AUTH_ERR;
	}
	const char *user = NULL;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL || strchr(user, '\n') != NULL)
		return PAM_USER_UNKNOWN;
	const char *tok = NULL;
	if (pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL) != PAM_SUCCESS || tok == NULL)
		return PAM_AUTH_ERR;

	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof sa.sun_path)
		return PAM_AUTH_ERR;
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return PAM_AUTH_ERR;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    write_all(fd, user, strlen(user)) != 0 ||
	    write_all(fd, "\n", 1) != 0 ||
	    write_all(fd, tok, strlen(tok)) != 0 ||
	    shutdown(fd, SHUT_WR) != 0) {
		pam_syslog(pamh, LOG_ERR, "verifier at %s: %s", sock, strerror(errno));
		close(fd);
		return PAM_AUTH_ERR;
	}
	char reply[512];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof reply - 1)
			break;
	}
	close(fd);
	reply[got] = '\0';
	if (got >= 2 && strncmp(reply, "OK", 2) == 0 && (got == 2 || reply[2] == '\n'))
		return PAM_SUCCESS;
	return PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh; (void)flags; (void)argc; (void)argv;
	return PAM_SUCCESS;
}
