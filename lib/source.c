/* source.c: the source role of the checkpoint protocol: ack file, restore and timed barriers. */
#include "ec.h"
#include "timefmt.h"
#include "source.h"
#include "ckpt.h"
#include "log.h"
#include <time.h>
#include <unistd.h>

int ec_source_init(struct ec_source *s, const char *ack_path, int64_t interval_ms)
{
	struct ec_ack ack = EC_ACK_INIT;
	char err[512];

	memset(s, 0, sizeof(*s));
	s->ack_path = ack_path;
	s->interval_ms = interval_ms;
	s->next_due_ns = ec_mono_ns() + interval_ms * 1000000;
	if (!ack_path)
		return 0;
	if (ec_ack_read(ack_path, &ack, err, sizeof(err)) < 0) {
		ec_error("%s", err);
		return access(ack_path, R_OK) < 0 ? EX_NOINPUT : EX_DATAERR;
	}
	s->id = s->acked = ack.id;
	/* A "null" position is the same as none: nothing was delivered yet. */
	if (ack.pos && strcmp(ack.pos, "null"))
		s->acked_pos = ack.pos;
	else
		free(ack.pos);
	return 0;
}

void ec_source_release(struct ec_source *s)
{
	free(s->acked_pos);
	s->acked_pos = NULL;
}

void ec_source_restore(struct ec_source *s, struct ec_buf *out)
{
	if (s->ack_path)
		ec_ctl_restore(out, s->id);
}

int ec_source_due(const struct ec_source *s)
{
	return s->ack_path && ec_mono_ns() >= s->next_due_ns;
}

int ec_source_wait_ms(const struct ec_source *s)
{
	int64_t left;

	if (!s->ack_path)
		return -1;
	left = (s->next_due_ns - ec_mono_ns() + 999999) / 1000000;
	return left < 0 ? 0 : left > 1000000 ? 1000000 : (int)left;
}

int ec_source_barrier(struct ec_source *s, const char *pos, struct ec_buf *out)
{
	struct ec_ack ack = EC_ACK_INIT;
	char err[512];
	int moved = 0;

	/* The sink moves the ack file forward as data lands. */
	if (ec_ack_read(s->ack_path, &ack, err, sizeof(err)) < 0) {
		ec_warn("%s", err);
	} else if (ack.id != s->acked) {
		s->acked = ack.id;
		free(s->acked_pos);
		s->acked_pos = ack.pos;
		ack.pos = NULL;
		moved = 1;
	}
	ec_ack_release(&ack);
	ec_ctl_barrier(out, ++s->id, pos, s->acked);
	s->next_due_ns = ec_mono_ns() + s->interval_ms * 1000000;
	return moved;
}
