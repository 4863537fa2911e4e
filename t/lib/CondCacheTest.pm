package CondCacheTest;
# Helpers shared by the mod_condcache tests.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Apache::Test ();
use Apache::TestUtil ();
use Apache::TestRequest ();
use HTTP::Date ();
use HTTP::Request ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use File::Path ();
use File::Temp ();
use POSIX ();

our @EXPORT = qw(docroot file_path set_mtime tag_of http_date note_for
                 DELETE_RC REQUEST digest_tag xxh128_tag sanitized module_so
                 LM_SECS LM_DATE free_port wait_for stop xxh128_hex
                 own_server_conf php_fpm_bin php_fpm_start php_fpm_stop
                 note_by_id tls_ca base_url curl_request curl_parallel
                 nghttp store_runs slurp cc expires_in read_to_end);

# The modification time every test file gets: Sun, 06 Nov 1994 08:49:37
use constant LM_SECS => 784111777;
use constant LM_DATE => 'Sun, 06 Nov 1994 08:49:37 GMT';

sub docroot { Apache::Test::vars('documentroot') }

# True when the server runs the AddressSanitizer build of the module under
# the sanitizer runtimes: make itest-asan starts it with -D
# CONDCACHE_SANITIZED (Apache::Test's -defines).  Its memory figures then
# hold ASan's shadow memory and quarantine, not the module's use.
sub sanitized {
    my $defines = Apache::Test::vars('defines') // '';
    return (grep { $_ eq 'CONDCACHE_SANITIZED' } split ' ', $defines) ? 1 : 0;
}

# The module the server loads (t/conf/extra.conf.in), for a test that
# writes a configuration of its own.
sub module_so {
    my $libs = sanitized() ? 'asan/.libs' : '.libs';
    return Apache::Test::vars('serverroot') . "/../$libs/mod_condcache.so";
}

sub file_path { docroot() . '/' . shift }

# Give a file under htdocs a known mtime (whole seconds), so that the
# MTime part of its tag is known too.
sub set_mtime {
    my ($rel, $secs) = @_;
    $secs //= LM_SECS;
    utime $secs, $secs, file_path($rel) or die "utime $rel: $!";
}

# The tag CondCacheETag "MTime Size" (the default) gives a file whose mtime
# is whole seconds: size and mtime in microseconds, lowercase hex.
sub tag_of {
    my ($rel, %opt) = @_;
    my @st = stat file_path($rel) or die "stat $rel: $!";
    my @parts;
    push @parts, sprintf '%x', $st[1] if $opt{inode};
    push @parts, sprintf '%x', $st[7] unless $opt{no_size};
    push @parts, sprintf '%x', $st[9] * 1_000_000 unless $opt{no_mtime};
    return '"' . join('-', @parts) . '"';
}

sub http_date {
    my @t = gmtime shift;
    return sprintf '%s, %02d %s %04d %02d:%02d:%02d GMT',
        (qw(Sun Mon Tue Wed Thu Fri Sat))[$t[6]], $t[3],
        (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$t[4]],
        $t[5] + 1900, @t[2, 1, 0];
}

# The condcache note of the request that $send makes: each request $send
# makes carries a header of its own, which the access log shows, so that
# a late log line of an earlier request cannot be taken for it.
my $note_seq = 0;
sub note_for {
    my ($method, $uri, $send) = @_;
    my $log = Apache::Test::vars('t_logs') . '/condcache_log';
    my $id = "note-$$-" . ++$note_seq;
    my $ua = Apache::TestRequest::user_agent();
    $ua->default_header('X-Test-Id' => $id);
    $send->();
    $ua->default_headers->remove_header('X-Test-Id');
    for (1 .. 50) {
        if (open my $fh, '<', $log) {
            while (<$fh>) {
                next unless /^\Q$method\E \Q$uri\E(?:\?\S*)? \S+ ".*" \Q$id\E \[(.*)\]$/;
                return $1 eq '-' ? undef : $1;
            }
        }
        select undef, undef, undef, 0.1;
    }
    return 'no log line';
}

# XXH3-128 of bytes as a quoted tag, by xxhsum -H2: an implementation
# apart from the module's
sub xxh128_tag {
    return '"' . xxh128_hex(shift) . '"';
}

# the same, as 32 hex digits
sub xxh128_hex {
    my $bytes = shift;
    my $tmp = Apache::Test::vars('t_logs') . "/digest.$$";
    open my $fh, '>:raw', $tmp or die "$tmp: $!";
    print $fh $bytes;
    close $fh;
    my $out = `xxhsum -H2 < '$tmp'`;
    unlink $tmp;
    $out =~ /^([0-9a-f]{32})/ or die "xxhsum: $out";
    return $1;
}

# The tag CondCacheDigest gives a body: XXH3-128 of the media type, a NUL,
# the content-coding, a NUL and the bytes sent.
sub digest_tag {
    my ($type, $coding, $body) = @_;
    return xxh128_tag(join "\0", $type // '', $coding // '', $body);
}

# Apache::TestRequest has no DELETE.
sub DELETE_RC {
    my ($uri, @headers) = @_;
    my $url = 'http://' . Apache::TestRequest::hostport() . $uri;
    my $req = HTTP::Request->new(DELETE => $url, [@headers]);
    return Apache::TestRequest::user_agent()->request($req)->code;
}

# Nor TRACE, PATCH or any other method: REQUEST(PATCH => $uri, @headers,
# content => $body), the response
sub REQUEST {
    my ($method, $uri, @args) = @_;
    my ($content, @headers);
    while (my ($k, $v) = splice @args, 0, 2) {
        if ($k eq 'content') {
            $content = $v;
        }
        else {
            push @headers, $k, $v;
        }
    }
    my $url = 'http://' . Apache::TestRequest::hostport() . $uri;
    my $req = HTTP::Request->new($method => $url, [@headers], $content);
    return Apache::TestRequest::user_agent()->request($req);
}

# For a test that starts a server of its own: a free loopback port, the
# wait until something listens there, and the stop of the server by the
# PID it wrote (waiting until it is gone).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_for {
    my $port = shift;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return 1 if $s;
        select undef, undef, undef, 0.1;
    }
    return 0;
}

sub stop {
    my $dir = shift;
    open my $fh, '<', "$dir/httpd.pid" or return;
    chomp(my $pid = <$fh>);
    kill 'TERM', $pid;
    for (1 .. 100) {
        last unless kill 0, $pid;
        select undef, undef, undef, 0.1;
    }
}

# The start of the configuration of a server of a test's own, in $dir on
# 127.0.0.1:$port (its LoadModule lines come before it)
sub own_server_conf {
    my ($dir, $port) = @_;
    return <<"EOC";
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel warn
DefaultRuntimeDir "$dir"
Mutex file:$dir default
TypesConfig /etc/mime.types
StartServers 1
EOC
}

# --- php-fpm for t/php.t ----------------------------------------------------
#
# Debian's php-fpm8.2 with the pool of t/conf/php-fpm.conf, in the
# foreground as a child of the test, in a process group of its own, with
# no php.ini of the system's (-n); its socket, pid file, logs and
# sessions under t/logs/php-fpm, where the configuration of t/conf finds
# the socket.  Stopped by its pid: php_fpm_stop(), and the END block below
# when the test dies.  A pool that a killed run left behind (the pid file
# names a php-fpm master of this configuration) is stopped before a new
# one starts.

sub php_fpm_bin {
    for my $bin ('/usr/sbin/php-fpm8.2', map { "$_/php-fpm8.2" }
                 split /:/, $ENV{PATH} // '') {
        return $bin if -x $bin;
    }
    return undef;
}

sub php_fpm_dir  { Apache::Test::vars('t_logs') . '/php-fpm' }
sub php_fpm_conf { Apache::Test::vars('t_conf') . '/php-fpm.conf' }

my ($php_fpm_pid, $php_fpm_owner);

# the pid in the pool's pid file, when it is a php-fpm master of ours
sub php_fpm_stale {
    my $dir = php_fpm_dir();
    open my $fh, '<', "$dir/php-fpm.pid" or return undef;
    chomp(my $pid = <$fh> // '');
    return undef unless $pid =~ /^\d+$/;
    open my $cmd, '<', "/proc/$pid/cmdline" or return undef;
    my $line = <$cmd> // '';
    my $conf = php_fpm_conf();
    return $line =~ /^php-fpm: master process \(\Q$conf\E\)/ ? $pid : undef;
}

# Start the pool and wait until its socket accepts: its pid, or die
sub php_fpm_start {
    my $bin = php_fpm_bin() or die "php-fpm8.2 is not installed\n";
    my $dir = php_fpm_dir();
    if (my $old = php_fpm_stale()) {
        kill 'TERM', $old;
        for (1 .. 100) {
            last unless kill 0, $old;
            select undef, undef, undef, 0.1;
        }
    }
    File::Path::rmtree($dir);
    File::Path::mkpath(["$dir/sessions", "$dir/runs"]);
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        POSIX::setpgid(0, 0);
        $ENV{CONDCACHE_PHP_FPM_DIR} = $dir;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/stderr.log" or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        { no warnings 'exec'; exec $bin, '-n', '-F', '-y', php_fpm_conf(); }
        print STDERR "exec $bin: $!\n";
        POSIX::_exit(127);
    }
    POSIX::setpgid($pid, $pid);
    ($php_fpm_pid, $php_fpm_owner) = ($pid, $$);
    for (1 .. 200) {
        my $s = IO::Socket::UNIX->new(Peer => "$dir/php-fpm.sock");
        return $pid if $s;
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        select undef, undef, undef, 0.05;
    }
    php_fpm_stop();
    local $/;
    my $log = '';
    for my $f ("$dir/stderr.log", "$dir/php-fpm.log") {
        open my $fh, '<', $f or next;
        $log .= <$fh> // '';
    }
    die "php-fpm did not start:\n$log";
}

# Stop the pool: TERM to its master (which stops its workers), then KILL
# to its group after 10 seconds
sub php_fpm_stop {
    my $pid = $php_fpm_pid;
    return unless $pid && $php_fpm_owner == $$;
    undef $php_fpm_pid;
    kill 'TERM', $pid;
    for (1 .. 100) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        select undef, undef, undef, 0.1;
    }
    kill 'KILL', -$pid;
    waitpid $pid, 0;
}

END {
    local $?;
    php_fpm_stop();
}

# How often the validator store's pages (t/htdocs/store) ran for a URI:
# page.lua counts per path and query, count.sh in all
sub store_runs {
    my $uri = shift;
    my $name = $uri =~ /count\.sh/ ? 'count.sh'
             : $uri =~ /\?/       ? $uri
             :                       "$uri?";
    $name =~ s/[^A-Za-z0-9]/_/g unless $uri =~ /count\.sh/;
    my $file = Apache::Test::vars('t_logs') . "/store-runs/$name";
    open my $fh, '<', $file or return 0;
    my $n = <$fh>;
    return $n + 0;
}

# --- other clients: curl and nghttp, over TLS and HTTP/2 (tls.t, h2.t) -----

# The condcache note of the request that carried "X-Test-Id: $id", for a
# request that a client other than LWP sent (note_for's, by the id alone):
# of its final response (a request upgraded to h2c is logged twice, with
# its 101 and as the stream that answered it).
sub note_by_id {
    my ($method, $uri, $id) = @_;
    my $log = Apache::Test::vars('t_logs') . '/condcache_log';
    for (1 .. 50) {
        if (open my $fh, '<', $log) {
            while (<$fh>) {
                next unless /^\Q$method\E \Q$uri\E(?:\?\S*)? (?!101 )\S+ ".*" \Q$id\E \[(.*)\]$/;
                return $1 eq '-' ? undef : $1;
            }
        }
        select undef, undef, undef, 0.1;
    }
    return 'no log line';
}

# The test CA, which signed the server's certificate (Apache::TestSSLCA)
sub tls_ca {
    my $vars = Apache::Test::vars();
    return "$vars->{sslca}/$vars->{sslcaorg}/certs/ca.crt";
}

# scheme://host:port of the main server (HTTP/1.1 in clear text), of
# <VirtualHost mod_ssl> (HTTP/1.1 and h2 over TLS) or of another virtual
# host of the test configuration (condcache_h2c)
sub base_url {
    my $vhost = shift // '';
    my $cfg = Apache::Test::config();
    my $vars = $cfg->{vars};
    my $port = $vhost ? $cfg->{vhosts}{$vhost}{port} : $vars->{port};
    my $scheme = $vhost eq 'mod_ssl' ? 'https' : 'http';
    return "$scheme://$vars->{servername}:$port";
}

# the fields of the last header block of a response (an Upgrade's 101
# comes first), names in lowercase, repeated fields joined with ", "
sub parse_fields {
    my @blocks = grep { /\S/ } split /\r?\n\r?\n/, shift // '';
    my %f;
    for (split /\r?\n/, $blocks[-1] // '') {
        next unless /^([^:\s]+):\s*(.*?)\s*$/;
        my $name = lc $1;
        $f{$name} = exists $f{$name} ? "$f{$name}, $2" : $2;
    }
    return \%f;
}

# a file's bytes ('' for none)
sub slurp {
    my $file = shift;
    open my $fh, '<:raw', $file or return '';
    local $/;
    return scalar <$fh>;
}

# a response's Cache-Control: there must be exactly one line
sub cc {
    my $r = shift;
    my @lines = $r->headers->header('Cache-Control');
    return @lines == 1 ? $lines[0] : scalar(@lines) . " lines: @lines";
}

# Expires - Date, in seconds: undef without Expires, and there must not
# be more than one
sub expires_in {
    my $r = shift;
    my @e = $r->headers->header('Expires');
    return undef unless @e;
    return @e == 1 ? HTTP::Date::str2time($e[0])
                     - HTTP::Date::str2time($r->header('Date'))
                   : scalar(@e) . ' Expires fields';
}

# all a server sends on $sock until it closes the connection; 30 seconds
# at most, so that a stall fails the test instead of hanging it
sub read_to_end {
    my $sock = shift;
    my $wire = '';
    local $SIG{ALRM} = sub { die "no end of the connection\n" };
    alarm 30;
    while (sysread($sock, my $buf, 65536)) { $wire .= $buf }
    alarm 0;
    return $wire;
}

# curl's options for a protocol: 'http1.1', 'http2' (ALPN over TLS, or
# Upgrade: h2c in clear text), 'http2-prior-knowledge' (h2c)
sub curl_opts {
    my %o = @_;
    my @opts = ("--$o{proto}", '-sS', '--cacert', tls_ca());
    push @opts, '--head' if ($o{method} // '') eq 'HEAD';
    my @h = @{ $o{headers} // [] };
    while (my ($name, $value) = splice @h, 0, 2) {
        push @opts, '-H', "$name: $value";
    }
    return @opts;
}

# One request with curl.  %opt: proto (see curl_opts), method (HEAD),
# headers => [name => value, ...].  Returns { code, version (1.1, 2),
# fields => { name => value }, body, error }; the whole run is bounded.
sub curl_request {
    my ($url, %opt) = @_;
    my ($res) = curl_parallel([ $url, %opt ]);
    return $res;
}

# Requests with curl, all at once (--parallel): on one connection where
# curl can multiplex them (h2 over TLS), each with its own options as for
# curl_request.  Returns a result per request, in their order, with also
# local_port (the client's side of its connection) and num_connects (the
# connections it opened).  Bounded by $ENV{CONDCACHE_CLIENT_TIMEOUT} (60)
# seconds in all: a stalled stream fails the run rather than hanging it.
sub curl_parallel {
    my @reqs = @_;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $limit = $ENV{CONDCACHE_CLIENT_TIMEOUT} // 60;
    my @cmd = ('timeout', $limit, 'curl', '--parallel', '--parallel-max', 100,
               '--max-time', $limit);
    for my $i (0 .. $#reqs) {
        my ($url, %o) = @{ $reqs[$i] };
        push @cmd, '--next' if $i;
        push @cmd, curl_opts(%o), '-D', "$dir/h$i", '-o', "$dir/b$i",
            '-w', "$i %{http_code} %{http_version} %{local_port} "
                . "%{num_connects} %{errormsg}\\n", $url;
    }
    my $out = '';
    if (open my $fh, '-|', join(' ', map { shell_quote($_) } @cmd)
                          . " 2>'$dir/err'") {
        local $/;
        $out = <$fh> // '';
        close $fh;
    }
    my $rc = $? >> 8;
    my $err = slurp("$dir/err");
    my @res;
    for my $i (0 .. $#reqs) {
        my ($line) = $out =~ /^$i (\d+ \S+ \d+ \d+.*)$/m;
        my ($code, $version, $port, $connects, $msg) =
            split / /, $line // '', 5;
        $res[$i] = {
            code => $code // 0, version => $version // '',
            local_port => $port // 0, num_connects => $connects // 0,
            fields => parse_fields(slurp("$dir/h$i")),
            body => slurp("$dir/b$i"),
            error => ($msg // '') . ($rc ? " (curl exit $rc) $err" : ''),
        };
    }
    return @res;
}

sub shell_quote {
    my $s = shift;
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

# Requests on one HTTP/2 connection with nghttp (nghttp2-client): each of
# @$urls, $opt{multiply} times (-m), all sent at once, with the request
# fields of $opt{headers} (an [name => value] list, lowercase names;
# ':method' => 'HEAD' for HEAD); $opt{upgrade}: h2c by Upgrade from
# HTTP/1.1, else by prior knowledge (http:) or ALPN (https:);
# $opt{window_bits}: the client's flow-control windows, 2^N - 1 bytes for
# each stream and for the connection (nghttp's default: 2^16 - 1).  What the
# server sent is read from the bytes nghttp received (--hexdump, after
# TLS), frame by frame, and the fields from nghttp's own decoding (-v).
# Returns {
#   exit => nghttp's status (124: the run hit its bound), connects => how
#   many connections it opened, protocol => 'h2' (ALPN), 'h2c' or
#   'h2c-upgrade', goaway => the error of a GOAWAY (0 for NO_ERROR),
#   rest => bytes left after the last whole frame,
#   streams => [ { id, path, status, fields => {}, body, data_frames,
#                  end_stream (1 when the server ended the stream),
#                  rst (the error code of a RST_STREAM) }, ... by id ]
# }.  Bounded by $ENV{CONDCACHE_CLIENT_TIMEOUT} (60) seconds in all.
sub nghttp {
    my ($urls, %opt) = @_;
    my $limit = $ENV{CONDCACHE_CLIENT_TIMEOUT} // 60;
    my @cmd = ('timeout', $limit, 'nghttp', '-nv', '--hexdump',
               '-t', "${limit}s");
    push @cmd, '-u' if $opt{upgrade};
    push @cmd, '-m', $opt{multiply} if $opt{multiply};
    push @cmd, '-w', $opt{window_bits}, '-W', $opt{window_bits}
        if $opt{window_bits};
    my @h = @{ $opt{headers} // [] };
    while (my ($name, $value) = splice @h, 0, 2) {
        push @cmd, '-H', "$name: $value";
    }
    push @cmd, @$urls;
    # nghttp verifies the server's certificate with OpenSSL's defaults
    local $ENV{SSL_CERT_FILE} = tls_ca();
    my $out = '';
    if (open my $fh, '-|', join(' ', map { shell_quote($_) } @cmd) . ' 2>&1') {
        local $/;
        $out = <$fh> // '';
        close $fh;
    }
    my %res = (exit => $? >> 8, connects => 0, protocol => '', rest => 0,
               output => $out);
    my (%s, $sending, $settings);
    # each read as hexdump -C shows it: from offset 0, "*" for lines that
    # repeat the one before, the read's length alone on its last line
    my ($wire, $read, $last, $star) = ('', '', '', 0);
    my $upto = sub {
        my $offset = shift;
        $read .= $last while $star && length $read < $offset;
        substr($read, $offset) = '' if length $read > $offset;
        $star = 0;
    };
    for my $line (split /\n/, $out) {
        if ($line =~ /^([0-9a-f]{8})  (.*?)\s*(?:\|.*)?$/) {
            my $offset = hex $1;
            if ($offset == 0 && length $read) {     # a read without its end
                $wire .= $read;
                ($read, $star) = ('', 0);
            }
            $upto->($offset);
            $last = pack 'C*', map { hex } split ' ', $2;
            $read .= $last;
            next;
        }
        if ($line =~ /^\*$/) {
            $star = 1;
            next;
        }
        if ($line =~ /^([0-9a-f]{8})$/) {
            $upto->(hex $1);
            $wire .= $read;
            ($read, $star) = ('', 0);
            next;
        }
        $res{connects}++ if $line =~ /^\[\s*[\d.]+\] Connected$/;
        $res{protocol} = 'h2' if $line =~ /^The negotiated protocol: h2$/;
        $res{protocol} = 'h2c-upgrade' if $line =~ /HTTP Upgrade success/;
        $settings = 1 if $line =~ /^\[\s*[\d.]+\] recv SETTINGS frame/;
        if ($line =~ /^[A-Z]+ (\S+) HTTP\/1\.1\r?$/) {  # the Upgrade request
            $s{1}{path} = $1;
        }
        if ($line =~ /send HEADERS frame .*stream_id=(\d+)>/) {
            $sending = $1;
        }
        elsif ($line =~ /^\[/) {
            undef $sending;
        }
        if (defined $sending && $line =~ /^\s+:path: (.*)$/) {
            $s{$sending}{path} = $1;
        }
        if ($line =~ /recv \(stream_id=(\d+)\) ([^:\s][^:]*|:status): (.*)$/) {
            my ($id, $name, $value) = ($1, lc $2, $3);
            if ($name eq ':status') {
                $s{$id}{status} = $value;
                next;
            }
            my $f = $s{$id}{fields} //= {};
            $f->{$name} = exists $f->{$name} ? "$f->{$name}, $value" : $value;
        }
    }
    $wire .= $read;
    # prior knowledge: the server answered in HTTP/2
    $res{protocol} ||= 'h2c' if $settings && $urls->[0] =~ /^http:/;
    # the frames (RFC 9113 4.1): length, type, flags, stream, payload
    while (length $wire >= 9) {
        my ($l1, $l2, $type, $flags, $id) = unpack 'C n C C N', $wire;
        my $len = $l1 << 16 | $l2;
        last if length $wire < 9 + $len;
        my $payload = substr $wire, 9, $len;
        substr($wire, 0, 9 + $len) = '';
        $id &= 0x7fffffff;
        if ($type == 0) {                                   # DATA
            if ($flags & 0x8) {                             # PADDED
                my $pad = unpack 'C', $payload;
                $payload = substr $payload, 1, $len - 1 - $pad;
            }
            $s{$id}{body} .= $payload;
            $s{$id}{data_frames}++;
            $s{$id}{end_stream} = 1 if $flags & 0x1;
        }
        elsif ($type == 1) {                                # HEADERS
            $s{$id}{end_stream} = 1 if $flags & 0x1;
        }
        elsif ($type == 3) {                                # RST_STREAM
            $s{$id}{rst} = unpack 'N', $payload;
        }
        elsif ($type == 7) {                                # GOAWAY
            $res{goaway} = unpack 'x4 N', $payload;
        }
    }
    $res{rest} = length $wire;
    $res{streams} = [ map {
        { id => $_, path => '', status => 0, fields => {}, body => '',
          data_frames => 0, end_stream => 0, %{ $s{$_} } }
    } sort { $a <=> $b } grep { $_ } keys %s ];
    return \%res;
}

1;
