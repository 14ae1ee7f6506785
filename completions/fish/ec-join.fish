# fish completion for ec-join(1): options, units, files and directories.

complete -c ec-join -s t -l time -x -d 'Event time field (required)'
complete -c ec-join -l time-unit -x -a 's\tseconds ms\tmilliseconds us\tmicroseconds ns\tnanoseconds' -d 'Unit of numeric times'
complete -c ec-join -s d -l dim -x -d "Dimension table and its key: 'TABLE: key PATH'"
complete -c ec-join -s a -l attach -x -d "Attach a field: '[FACTS:] [NAME =] TABLE[PATH].FIELD'"
complete -c ec-join -l preload -r -F -d 'Rows of a table valid from the start: TABLE=FILE'
complete -c ec-join -l table -x -d "Field naming a record's table"
complete -c ec-join -l wait -x -d 'How long a fact waits for a row that has not arrived'
complete -c ec-join -l max-delay -x -d 'How far the watermark trails the largest event time'
complete -c ec-join -l inner -d 'Drop facts with an unmatched key'
complete -c ec-join -l reject -r -F -d 'With --inner, append dropped facts to FILE'
complete -c ec-join -l into -x -d 'Name of the object holding the attached fields'
complete -c ec-join -l drop-dims -d 'Do not forward dimension change records'
complete -c ec-join -l follow -r -d 'Emit facts again whenever the row they join changes'
complete -c ec-join -l retain -r -d 'Forget followed facts this long after their last change'
complete -c ec-join -l state-dir -x -a '(__fish_complete_directories)' -d 'Keep checkpoint snapshots in DIR'
complete -c ec-join -l errors -x -a 'fail\texit\ 65 skip\tskip\ and\ count' -d 'What bad input does'
complete -c ec-join -l dead-letter -r -F -d 'Append bad input lines with the reason to FILE'
complete -c ec-join -l max-line -x -d 'Longest accepted line in bytes'
complete -c ec-join -l log-format -x -a 'text json' -d 'Diagnostics format on stderr'
complete -c ec-join -s v -l verbose -d 'More diagnostics'
complete -c ec-join -s q -l quiet -d 'Errors only'
complete -c ec-join -s h -l help -d 'Show the help and exit'
complete -c ec-join -s V -l version -d 'Show the version and exit'
