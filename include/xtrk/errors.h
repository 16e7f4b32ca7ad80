/*
 * Error reporting for libxtrk.
 *
 * Every library function returns 0 on success or one of the negative codes
 * below, and sets a per-thread message that says what went wrong in words a
 * user can act on.  The library never prints and never exits; the program
 * decides how to show the message and which exit status to use.
 */
#ifndef XTRK_ERRORS_H
#define XTRK_ERRORS_H

typedef enum {
	XTRK_OK = 0,
	XTRK_ERROR = -1,      /* a generic failure (I/O, allocation) */
	XTRK_ENOTFOUND = -3,  /* a requested object, run, path or ref does not exist */
	XTRK_EEXISTS = -4,    /* something that must not exist already does */
	XTRK_EAMBIGUOUS = -5, /* a revision matches more than one run */
	XTRK_EINVALID = -6,   /* bad input from the user: malformed file, bad value */
	XTRK_ECORRUPT = -7,   /* stored data does not match its ID or format */
	XTRK_ELOCKED = -8,    /* a lock is held by another process */
	XTRK_ENOSPACE = -9,   /* the file system is full */
	XTRK_ERULE = -10      /* a validation rule from the config refused a run */
} xtrk_error_code;

/** Set the calling thread's last error message (printf-style) and return code. */
int xtrk_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Set the last error from errno: "<what>: <strerror>"; returns XTRK_ENOSPACE for ENOSPC. */
int xtrk_error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Allocation failures anywhere in the process (xtrk's own, jansson's, a
 * libgit2 or libc call that failed with ENOMEM) are counted, because some of
 * them can only surface as a value quietly missing from a JSON document.  An
 * operation that records something takes a mark before it starts and refuses
 * to write when any failure was counted since (a failure in another thread
 * counts too: refusing is the safe side).  Nothing resets the count, so
 * operations never clear each other's failures.
 */
void xtrk_oom_note(void);
unsigned long xtrk_oom_mark(void);
int xtrk_oom_since(unsigned long mark);

/** Set the last error to an allocation failure and return XTRK_ERROR. */
int xtrk_error_oom(void);

/** The calling thread's last error message; never NULL (empty when none). */
const char *xtrk_error_last(void);

/** Clear the calling thread's last error. */
void xtrk_error_clear(void);

/**
 * Warnings are things the user should hear about that do not stop the work
 * (no git repository, a package list that timed out).  The library collects
 * them per thread; the program prints and clears them.
 */
void xtrk_warning_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Number of pending warnings on this thread. */
int xtrk_warning_count(void);
/** The Nth pending warning (borrowed). */
const char *xtrk_warning_get(int n);
/** Drop all pending warnings. */
void xtrk_warning_clear(void);

#endif
