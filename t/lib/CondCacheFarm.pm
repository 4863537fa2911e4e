package CondCacheFarm;
# A farm for t/farm.t: memcached, redis-server and httpd instances of the
# test's own, on free loopback ports, everything under one directory
# (t/logs/farm).  Each process is forked from perl, runs in the
# foreground in a process group of its own, and is stopped by its id:
# by stop(), or by stop_all() from the test's END block.  Nothing is left
# running behind a test that dies.
#
# Also the clients the test needs to look under the module: memcached's
# text protocol, redis' RESP, and the module's key scheme (cc_store_key()
# in cc_store.c) with the socache providers' naming of an id
# ("condcache:" + hex of the id, socache_mc_id2key / socache_rd_id2key).
use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use File::Path ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use CondCacheTest ();

our @EXPORT_OK = qw(free_port wait_port store_key socache_key stop_all);

# pid => { name, group }: every process started here and not yet reaped
my %running;
my %given;          # ports handed out by free_port

# A free loopback port: one the kernel gives a socket bound to port 0,
# never one given before in this run.
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1)
            or die "no free port: $!";
        my $port = $s->sockport;
        close $s;
        next if $given{$port}++;
        return $port;
    }
    die 'no free port after 50 tries';
}

# Wait until something accepts connections on the port; 0 after $secs.
sub wait_port {
    my ($port, $secs, $pid) = @_;
    my $end = Time::HiRes::time() + ($secs // 30);
    while (Time::HiRes::time() < $end) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp',
                                      Timeout => 1);
        if ($s) {
            close $s;
            return 1;
        }
        return 0 if $pid && !alive($pid);
        Time::HiRes::sleep(0.05);
    }
    return 0;
}

# Run argv in the background, in a group of its own, stdout and stderr to
# $log; its pid, also written to $pidfile when given.
sub spawn {
    my (%o) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $o{log} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        { no warnings "exec"; exec { $o{argv}[0] } @{ $o{argv} }; }
        print STDERR "exec $o{argv}[0]: $!\n";
        POSIX::_exit(127);
    }
    # the group is the child's own; set it here too, against the race
    POSIX::setpgid($pid, $pid);
    $running{$pid} = { name => $o{name}, group => $pid };
    if ($o{pidfile}) {
        open my $fh, '>', $o{pidfile} or die "$o{pidfile}: $!";
        print $fh "$pid\n";
        close $fh;
    }
    return $pid;
}

# Whether our child $pid is still running (reaping it if it ended).
sub alive {
    my $pid = shift;
    return 0 unless $running{$pid};
    my $r = waitpid $pid, POSIX::WNOHANG();
    if ($r == $pid || $r == -1) {
        delete $running{$pid};
        return 0;
    }
    return 1;
}

# Stop one of ours: $sig (TERM) to it, SIGCONT in case it was stopped,
# then up to $secs for it to exit, then SIGKILL to its whole group (an
# httpd's children).  Returns 1 if it went by itself.
sub stop {
    my ($pid, $sig, $secs) = @_;
    return 1 unless $running{$pid};
    my $group = $running{$pid}{group};
    kill $sig // 'TERM', $pid;
    kill 'CONT', $pid;
    my $end = Time::HiRes::time() + ($secs // 20);
    while (Time::HiRes::time() < $end) {
        return 1 unless alive($pid);
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', -$group;
    waitpid $pid, 0;
    delete $running{$pid};
    return 0;
}

# The processes of one of ours' group: an httpd and its children
sub group_pids {
    my $pid = shift;
    return () unless $running{$pid};
    my $group = $running{$pid}{group};
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        # pid (comm) state ppid pgrp: comm may hold spaces and parentheses
        push @pids, $1 if $line =~ /^(\d+) \(.*\) \S+ \d+ (\d+) / && $2 == $group;
    }
    return @pids;
}

# Everything still running: CONT and TERM, a moment, then KILL to the
# groups.  For END blocks.
sub stop_all {
    my @pids = keys %running;
    return unless @pids;
    for my $pid (@pids) {
        kill 'CONT', $pid;
        kill 'TERM', $pid;
    }
    my $end = Time::HiRes::time() + 15;
    while (Time::HiRes::time() < $end && grep { alive($_) } @pids) {
        Time::HiRes::sleep(0.05);
    }
    for my $pid (grep { $running{$_} } @pids) {
        kill 'KILL', -$running{$pid}{group};
        waitpid $pid, 0;
        delete $running{$pid};
    }
}

# --- the stores ------------------------------------------------------------

# memcached in the foreground on a free port (or $port, again):
# { pid, port, kind }
sub memcached {
    my ($dir, $again) = @_;
    File::Path::mkpath($dir);
    for my $try (1 .. 3) {
        my $port = $again // free_port();
        my @user = $> == 0 ? (-u => 'nobody') : ();
        my $pid = spawn(name => 'memcached', log => "$dir/memcached.log",
                        pidfile => "$dir/memcached.pid",
                        argv => ['memcached', -l => '127.0.0.1', -p => $port,
                                 -U => 0, -m => 16, -t => 2, @user]);
        return { pid => $pid, port => $port, kind => 'memcache' }
            if wait_port($port, 20, $pid);
        stop($pid, 'KILL');
        last if $again;
    }
    die "memcached did not start: see $dir/memcached.log";
}

# redis-server in the foreground on a free port (or $port, again), no
# persistence: { pid, port, kind }
sub redis {
    my ($dir, $again) = @_;
    File::Path::mkpath($dir);
    for my $try (1 .. 3) {
        my $port = $again // free_port();
        my $pid = spawn(name => 'redis-server', log => "$dir/redis.log",
                        pidfile => "$dir/redis.pid",
                        argv => ['redis-server', '--port', $port,
                                 '--bind', '127.0.0.1', '--save', '',
                                 '--appendonly', 'no', '--daemonize', 'no',
                                 '--dir', $dir, '--logfile', '']);
        return { pid => $pid, port => $port, kind => 'redis' }
            if wait_port($port, 20, $pid);
        stop($pid, 'KILL');
        last if $again;
    }
    die "redis-server did not start: see $dir/redis.log";
}

sub connect_to {
    my $port = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 5)
        or die "connect 127.0.0.1:$port: $!";
    binmode $s;
    return $s;
}

sub read_line {
    my $s = shift;
    my $line = <$s>;
    die 'the store closed the connection' unless defined $line;
    $line =~ s/\r\n\z//;
    return $line;
}

sub read_n {
    my ($s, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $got = read $s, $buf, $n - length $buf, length $buf;
        die "short read: $!" unless $got;
    }
    return $buf;
}

# memcached: the bytes under $key, undef for none
sub mc_get {
    my ($port, $key) = @_;
    my $s = connect_to($port);
    print $s "get $key\r\n";
    my $line = read_line($s);
    return undef if $line eq 'END';
    $line =~ /^VALUE \S+ \d+ (\d+)$/ or die "memcached get: $line";
    my $data = read_n($s, $1 + 2);
    read_line($s) eq 'END' or die 'memcached get: no END';
    return substr $data, 0, $1;
}

sub mc_set {
    my ($port, $key, $bytes) = @_;
    my $s = connect_to($port);
    printf $s "set %s 0 0 %d\r\n%s\r\n", $key, length $bytes, $bytes;
    my $line = read_line($s);
    $line eq 'STORED' or die "memcached set: $line";
}

# memcached: every key it holds (lru_crawler metadump)
sub mc_keys {
    my ($port) = @_;
    my $s = connect_to($port);
    print $s "lru_crawler metadump all\r\n";
    my @keys;
    while (1) {
        my $line = read_line($s);
        last if $line eq 'END';
        die "memcached metadump: $line" if $line =~ /^(?:ERROR|BUSY)/;
        push @keys, $1 =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ger
            if $line =~ /^key=(\S+)/;
    }
    return @keys;
}

# redis: a command, its reply (arrays as array refs; errors die)
sub redis_cmd {
    my ($port, @args) = @_;
    my $s = connect_to($port);
    print $s '*' . @args . "\r\n",
        map { '$' . length($_) . "\r\n$_\r\n" } @args;
    return redis_reply($s);
}

sub redis_reply {
    my $s = shift;
    my $line = read_line($s);
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+' || $t eq ':';
    die "redis: $rest" if $t eq '-';
    if ($t eq '$') {
        return undef if $rest < 0;
        return substr read_n($s, $rest + 2), 0, $rest;
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [map { redis_reply($s) } 1 .. $rest];
    }
    die "redis: unexpected reply $line";
}

# The store's own verbs, whichever it is
sub store_get {
    my ($st, $key) = @_;
    return $st->{kind} eq 'memcache' ? mc_get($st->{port}, $key)
                                      : redis_cmd($st->{port}, 'GET', $key);
}

sub store_set {
    my ($st, $key, $bytes) = @_;
    return $st->{kind} eq 'memcache' ? mc_set($st->{port}, $key, $bytes)
        : redis_cmd($st->{port}, 'SET', $key, $bytes);
}

# the seconds the store keeps $key for still (memcached's metadump gives
# the time it expires; Redis' TTL the seconds), undef for no such key
sub store_ttl {
    my ($st, $key) = @_;
    if ($st->{kind} eq 'redis') {
        my $ttl = redis_cmd($st->{port}, 'TTL', $key);
        return $ttl < 0 ? undef : $ttl;
    }
    my $s = connect_to($st->{port});
    print $s "lru_crawler metadump all\r\n";
    my $ttl;
    while ((my $line = read_line($s)) ne 'END') {
        die "memcached metadump: $line" if $line =~ /^(?:ERROR|BUSY)/;
        next unless $line =~ /^key=(\S+) exp=(-?\d+)/;
        my ($k, $exp) = ($1, $2);
        $k =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
        $ttl = $exp - time() if $k eq $key;
    }
    return $ttl;
}

# how many reads the store has answered since it started
sub store_reads {
    my ($st) = @_;
    if ($st->{kind} eq 'memcache') {
        my $s = connect_to($st->{port});
        print $s "stats\r\n";
        my $n;
        while ((my $line = read_line($s)) ne 'END') {
            $n = $1 if $line =~ /^STAT cmd_get (\d+)$/;
        }
        return $n // die 'memcached stats: no cmd_get';
    }
    my $info = redis_cmd($st->{port}, 'INFO', 'commandstats');
    return $info =~ /^cmdstat_get:calls=(\d+)/m ? $1 : 0;
}

sub store_keys {
    my ($st) = @_;
    return $st->{kind} eq 'memcache' ? mc_keys($st->{port})
        : @{ redis_cmd($st->{port}, 'KEYS', '*') };
}

# --- keys -------------------------------------------------------------------

# cc_store_key(): "condcache1:" + XXH3-128 of each part as a byte (1
# present, 0 NULL), its length in 8 bytes big-endian, and its bytes
sub store_key {
    my @parts = @_;
    my $buf = join '', map {
        defined $_ ? pack('C Q>', 1, length $_) . $_ : pack('C Q>', 0, 0)
    } @parts;
    return 'condcache1:' . CondCacheTest::xxh128_hex($buf);
}

# the key mod_socache_memcache and mod_socache_redis keep an id under:
# the namespace the module gives ("condcache"), ':' and the id in hex
sub socache_key {
    my $id = shift;
    return 'condcache:' . unpack 'H*', $id;
}

# --- httpd -------------------------------------------------------------------

# An httpd of the farm, in the foreground (-DFOREGROUND) so that its pid
# is ours: { pid, port, root, error_log, access_log }.  %o: name, root,
# httpd, modules, module, docroot, store ("memcache:127.0.0.1:P"),
# socache (the provider's module name), timeout, retry, children (2),
# mirror (mod_socache_shmcb loaded: the server mirrors the store).
sub httpd {
    my (%o) = @_;
    my $root = $o{root};
    File::Path::mkpath(["$root/run", "$root/logs"]);
    my $last = '';
    for my $try (1 .. 3) {
        my $port = free_port();
        my $conf = "$root/httpd.conf";
        open my $fh, '>', $conf or die "$conf: $!";
        print $fh httpd_conf(%o, port => $port);
        close $fh;
        my $pid = spawn(name => "httpd $o{name}", log => "$root/stderr_log",
                        argv => [$o{httpd}, '-DFOREGROUND', -d => $root,
                                 -f => $conf]);
        if (wait_port($port, 60, $pid)) {
            return { pid => $pid, port => $port, root => $root,
                     name => $o{name},
                     error_log => "$root/error_log",
                     access_log => "$root/access_log" };
        }
        stop($pid, 'TERM', 10);
        $last = CondCacheTest::slurp("$root/stderr_log")
            . CondCacheTest::slurp("$root/error_log");
        # another process took the port between free_port and httpd
        next if $last =~ /Address already in use/;
        last;
    }
    die "httpd $o{name} did not start:\n$last";
}

sub httpd_conf {
    my (%o) = @_;
    my ($root, $m, $doc) = @o{qw(root modules docroot)};
    my $user = $> == 0 ? "User nobody\nGroup nogroup\n" : '';
    # two children (the store's warning is said once for all), or one
    my $mpm = ($o{children} // 2) == 1
        ? "StartServers 1\nServerLimit 1\nThreadsPerChild 10\n"
          . "MaxRequestWorkers 10\nMinSpareThreads 1\nMaxSpareThreads 10"
        : "StartServers 2\nServerLimit 4\nThreadsPerChild 10\n"
          . "MaxRequestWorkers 40\nMinSpareThreads 10\nMaxSpareThreads 40";
    # mod_socache_shmcb, where the server may keep a mirror of the store
    my $mirror = $o{mirror} ? "LoadModule socache_shmcb_module "
                              . "\"$m/mod_socache_shmcb.so\"\n" : '';
    return <<"EOC";
# t/farm.t: one server of the farm ($o{name})
ServerRoot "$root"
ServerName farm.test
Listen 127.0.0.1:$o{port}
PidFile "$root/run/httpd.pid"
DefaultRuntimeDir "$root/run"
ErrorLog "$root/error_log"
LogLevel warn condcache:debug
$user
LoadModule mpm_event_module "$m/mod_mpm_event.so"
LoadModule authz_core_module "$m/mod_authz_core.so"
LoadModule mime_module "$m/mod_mime.so"
LoadModule alias_module "$m/mod_alias.so"
LoadModule lua_module "$m/mod_lua.so"
<IfModule !log_config_module>
    LoadModule log_config_module "$m/mod_log_config.so"
</IfModule>
LoadModule $o{socache}_module "$m/mod_$o{socache}.so"
${mirror}LoadModule condcache_module "$o{module}"
TypesConfig /etc/mime.types
$mpm
KeepAlive Off

LogFormat "%m %U%q %>s %{X-Farm-Id}i %D [%{condcache}n]" farm
CustomLog "$root/access_log" farm

CondCacheStore $o{store}
CondCacheStoreTimeout $o{timeout}
CondCacheStoreRetry $o{retry}

DocumentRoot "$doc"
<Directory />
    Require all denied
</Directory>
<VirtualHost 127.0.0.1:$o{port}>
    # the same name and port on every server of the farm: the same keys
    ServerName farm.test:80
    DocumentRoot "$doc"
    <Directory "$doc">
        Require all granted
        CondCache On
        CondCacheDigest On
        CondCacheStoreLifetime "access plus 10 minutes"
        AddHandler lua-script .lua
    </Directory>
    # the same pages with a lifetime past what memcached takes as seconds
    Alias /long/ "$doc/"
    <Location /long/>
        CondCacheStoreLifetime "access plus 60 days"
    </Location>
</VirtualHost>
EOC
}

1;
