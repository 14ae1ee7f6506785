# fish completion for ec-window(1): options, window templates, units, time zones, files and directories.

# Window specifications, with what each means.
function __ec_window_specs
    printf '%s\t%s\n' \
        'tumble 1m' 'consecutive one-minute windows' \
        'hop 10m every 1m' 'ten-minute windows starting every minute' \
        'session 30m' 'per-group sessions ended by 30 minutes of quiet' \
        'cumulate 1d every 1h' 'running daily totals written every hour'
end

# Time zone names from the tz database, without its data and table files.
function __ec_window_zones
    set -l dir /usr/share/zoneinfo
    set -q TZDIR; and set dir $TZDIR
    test -d $dir; or return
    find -L $dir -type f ! -path "$dir/posix/*" ! -path "$dir/right/*" \
        ! -name '*.*' ! -name posixrules ! -name leapseconds ! -name SECURITY \
        ! -name localtime ! -name Factory 2>/dev/null | string replace -- "$dir/" ''
end

complete -c ec-window -s t -l time -x -d 'Event time field (required)'
complete -c ec-window -l time-unit -x -a 's\tseconds ms\tmilliseconds us\tmicroseconds ns\tnanoseconds' -d 'Unit of numeric times'
complete -c ec-window -s w -l window -x -a '(__ec_window_specs)' -d 'Window specification'
complete -c ec-window -s g -l group-by -x -d 'Group by a field: [NAME=]PATH'
complete -c ec-window -s a -l agg -x -d 'Aggregate: NAME=FN(PATH)'
complete -c ec-window -l where -x -d 'Only records whose field equals a value: PATH=V1,V2'
complete -c ec-window -l weight -x -d 'Signed integer multiplicity of each record'
complete -c ec-window -l top -x -d "Only the N largest groups: 'N by NAME'"
complete -c ec-window -l tz -x -a '(__ec_window_zones)' -d 'Time zone of day and month windows'
complete -c ec-window -l max-delay -x -d 'How far the watermark trails the largest event time'
complete -c ec-window -l allowed-lateness -x -d 'Update a written window for records this late'
complete -c ec-window -l late -r -F -d 'Append records too late for every window to FILE'
complete -c ec-window -l state-dir -x -a '(__fish_complete_directories)' -d 'Keep checkpoint snapshots in DIR'
complete -c ec-window -l errors -x -a 'fail\texit\ 65 skip\tskip\ and\ count' -d 'What bad input does'
complete -c ec-window -l dead-letter -r -F -d 'Append bad input lines with the reason to FILE'
complete -c ec-window -l max-line -x -d 'Longest accepted line in bytes'
complete -c ec-window -l log-format -x -a 'text json' -d 'Diagnostics format on stderr'
complete -c ec-window -s v -l verbose -d 'More diagnostics'
complete -c ec-window -s q -l quiet -d 'Errors only'
complete -c ec-window -s h -l help -d 'Show the help and exit'
complete -c ec-window -s V -l version -d 'Show the version and exit'
