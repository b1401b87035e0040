#include "daemon/notify.h"
#include "build_config.h"

#ifdef HAVE_SYSTEMD
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-daemon.h>

bool notify_supported(void)
{
	return true;
}

void notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "ready");
}

void notify_reloading(void)
{
	struct timespec ts;

	/* systemd 253+ wants the monotonic time to match the reload to this message. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)ts.tv_sec * 1000000ULL +
			   (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;
	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

void notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

int notify_listen_fds(void)
{
	int n = sd_listen_fds(1);
	return n > 0 ? n : 0;
}

#else

bool notify_supported(void)
{
	return false;
}
void notify_ready(const char *status)
{
	(void)status;
}
void notify_reloading(void) {}
void notify_stopping(void) {}
uint64_t notify_watchdog_usec(void)
{
	return 0;
}
void notify_watchdog(void) {}
int notify_listen_fds(void)
{
	return 0;
}

#endif
