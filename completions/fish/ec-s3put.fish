# fish completion for ec-s3put(1): options, compression, units, time zones, destinations, files and directories.

# Partition templates to start from, with what each gives.
function __ec_s3put_templates
    printf '%s\t%s\n' \
        'dt={time:%Y-%m-%d}' 'one partition per day of event time' \
        'dt={time:%Y-%m-%d}/hour={time:%H}' 'per day and hour' \
        'table={.source.table}/dt={time:%Y-%m-%d}' 'change events per table and day'
end

# Time zone names from the tz database, without its data and table files.
function __ec_s3put_zones
    set -l dir /usr/share/zoneinfo
    set -q TZDIR; and set dir $TZDIR
    test -d $dir; or return
    find -L $dir -type f ! -path "$dir/posix/*" ! -path "$dir/right/*" \
        ! -name '*.*' ! -name posixrules ! -name leapseconds ! -name SECURITY \
        ! -name localtime ! -name Factory 2>/dev/null | string replace -- "$dir/" ''
end

# True until a destination (s3:// or file://) is on the command line.
function __ec_s3put_needs_dest
    for w in (commandline -opc)[2..-1]
        string match -qr '^(s3|file)://' -- $w; and return 1
    end
    return 0
end

complete -c ec-s3put -n __ec_s3put_needs_dest -x -a 's3:// file:///' -d 'Destination'
complete -c ec-s3put -s p -l partition -x -a '(__ec_s3put_templates)' -d 'Object key template below the prefix'
complete -c ec-s3put -s t -l time -x -d 'Event time field'
complete -c ec-s3put -l time-unit -x -a 's\tseconds ms\tmilliseconds us\tmicroseconds ns\tnanoseconds' -d 'Unit of numeric times'
complete -c ec-s3put -l tz -x -a '(__ec_s3put_zones)' -d 'Time zone of {time:...}'
complete -c ec-s3put -l default-partition -x -d 'Value for a missing or null field'
complete -c ec-s3put -s z -l compression -x -a 'gzip zstd none' -d 'Object compression'
complete -c ec-s3put -l level -x -d 'Compression level'
complete -c ec-s3put -l tar -d 'Make each object a tar archive with one NDJSON member'
complete -c ec-s3put -l max-records -x -d 'Rotate an object after N records'
complete -c ec-s3put -l max-bytes -x -d 'Rotate after SIZE bytes of uncompressed NDJSON'
complete -c ec-s3put -l max-age -x -d "Rotate when event time is DURATION past the object's first"
complete -c ec-s3put -l part-size -x -d 'Multipart upload part size'
complete -c ec-s3put -l endpoint -x -d 'S3-compatible endpoint URL'
complete -c ec-s3put -l region -x -d 'Region'
complete -c ec-s3put -l profile -x -d 'Credentials and config profile'
complete -c ec-s3put -l path-style -d 'Address buckets as ENDPOINT/BUCKET'
complete -c ec-s3put -l virtual-hosted -d 'Address buckets as BUCKET.ENDPOINT'
complete -c ec-s3put -l no-verify-tls -d "Do not verify the server's TLS certificate"
complete -c ec-s3put -l ca-file -r -F -d 'Trust the CA certificates in FILE'
complete -c ec-s3put -l retries -x -d 'Retries per request'
complete -c ec-s3put -l ack -r -F -d 'Write FILE when a barrier is durable'
complete -c ec-s3put -l state-dir -x -a '(__fish_complete_directories)' -d 'Keep the intent journal in DIR'
complete -c ec-s3put -l errors -x -a 'fail\texit\ 65 skip\tskip\ and\ count' -d 'What bad input does'
complete -c ec-s3put -l dead-letter -r -F -d 'Append bad input lines with the reason to FILE'
complete -c ec-s3put -l max-line -x -d 'Longest accepted line in bytes'
complete -c ec-s3put -l log-format -x -a 'text json' -d 'Diagnostics format on stderr'
complete -c ec-s3put -s v -l verbose -d 'More diagnostics'
complete -c ec-s3put -s q -l quiet -d 'Errors only'
complete -c ec-s3put -s h -l help -d 'Show the help and exit'
complete -c ec-s3put -s V -l version -d 'Show the version and exit'
