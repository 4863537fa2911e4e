package CondCacheTest;
# Helpers shared by the mod_condcache tests.
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use Apache::Test ();
use Apache::TestUtil ();
use Apache::TestRequest ();
use HTTP::Request ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use File::Path ();
use POSIX ();

our @EXPORT = qw(docroot file_path set_mtime tag_of http_date note_for
                 DELETE_RC REQUEST digest_tag xxh128_tag sanitized module_so
                 LM_SECS LM_DATE free_port wait_for stop xxh128_hex
                 own_server_conf php_fpm_bin php_fpm_start php_fpm_stop);

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

1;
