/*
 * unitrace: the command-line front door, in the style of git.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

extern const struct ut_cmd ut_cmd_collect, ut_cmd_run, ut_cmd_list,
	ut_cmd_stats, ut_cmd_query, ut_cmd_crash, ut_cmd_view, ut_cmd_ctl,
	ut_cmd_export;

const struct ut_cmd *const ut_cmds_all[] = {
	&ut_cmd_collect, &ut_cmd_run, &ut_cmd_list, &ut_cmd_stats,
	&ut_cmd_query, &ut_cmd_export, &ut_cmd_crash, &ut_cmd_view, &ut_cmd_ctl,
};
#define NCMDS (sizeof(ut_cmds_all) / sizeof(ut_cmds_all[0]))

bool ut_wants_help(const struct ut_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") ||
		    (cmd->stop_at_operand && argv[i][0] != '-'))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(cmd->usage, stdout);
			return true;
		}
	}
	return false;
}

static void usage(FILE *f)
{
	fputs("usage: unitrace COMMAND [ARGS]\n\n"
	      "Tracing and crash diagnostics for unikernels.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < NCMDS; i++)
		if (ut_cmds_all[i])
			fprintf(f, "  %-10s %s\n", ut_cmds_all[i]->name,
				ut_cmds_all[i]->summary);
	fputs("\nRun 'unitrace COMMAND --help' for a command's options.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("unitrace 0.1.0");
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		const struct ut_cmd *c = ut_cmds_all[i];
		if (c && !strcmp(argv[1], c->name)) {
			if (ut_wants_help(c, argc - 1, argv + 1))
				return 0;
			return c->run(argc - 1, argv + 1);
		}
	}
	ut_error(NULL, "'%s' is not a command; see 'unitrace --help'", argv[1]);
	return 2;
}
