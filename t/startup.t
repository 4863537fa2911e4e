# A broken directive stops httpd at startup with a message that names the
# directive and the value; a good one passes.  Each case is checked with
# httpd -t on a configuration of its own.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use File::Temp qw(tempdir);
use lib 't/lib';
use CondCacheTest;

my $httpd   = Apache::Test::vars('httpd');
my $root    = Apache::Test::vars('serverroot');
my $module  = module_so();
my $modules = "$root/modules";

# [ directive line, undef for "must pass" or the text the error must hold ]
my @cases = (
    [ 'CondCache On',                        undef ],
    [ 'CondCacheETag -INode +Digest',        undef ],
    [ 'CondCacheETag None',                  undef ],
    [ 'CondCacheETag all',                   undef ],
    [ 'CondCacheETagSalt "release 7"',       undef ],
    [ 'CondCacheLastModified off',           undef ],
    [ 'CondCache Maybe',                     qr/CondCache: 'Maybe' is neither On nor Off/ ],
    [ 'CondCacheLastModified yes',           qr/CondCacheLastModified: 'yes'/ ],
    [ 'CondCacheETag MTime Sise',            qr/CondCacheETag: unknown keyword 'Sise'/ ],
    [ 'CondCacheETag MTime +Size',           qr/CondCacheETag: 'MTime' and '\+Size' cannot be mixed/ ],
    [ 'CondCacheETag None Size',             qr/CondCacheETag: 'None' cannot be combined with 'Size'/ ],
    [ 'CondCacheETag +None',                 qr/CondCacheETag: '\+None' cannot be relative/ ],
    [ 'CondCacheETag',                       qr/CondCacheETag needs at least one keyword/ ],
    [ 'CondCacheETagSalt a b',               qr/CondCacheETagSalt takes one argument/ ],
    [ 'CondCache',                           qr/CondCache takes one argument/ ],
    # the freshness policy
    [ 'CondCacheExpiresDefault A3600',                        undef ],
    [ 'CondCacheExpiresDefault "modification plus 1 month 2 days"', undef ],
    [ 'CondCacheExpiresByType image/* "access plus 1 week"',  undef ],
    [ 'CondCacheControl public s-maxage=60 stale-if-error=600', undef ],
    [ 'CondCacheControlByType text/css immutable no-transform', undef ],
    [ 'CondCacheControlMerge replace',                        undef ],
    [ 'CondCacheExpires Off',                                 undef ],
    [ 'CondCacheFreshnessStatus 200 3xx 404 410',             undef ],
    [ 'CondCacheFingerprint "\\.[0-9a-f]{8}\\." "access plus 1 year"', undef ],
    [ 'CondCacheExpiresDefault "access plus 1 fortnight"',
      qr/CondCacheExpiresDefault: 'access plus 1 fortnight': unknown unit 'fortnight'/ ],
    [ 'CondCacheExpiresDefault "access plus -1 days"',
      qr/CondCacheExpiresDefault: 'access plus -1 days': '-1' is not a number/ ],
    [ 'CondCacheExpiresDefault "yesterday plus 1 day"',
      qr/CondCacheExpiresDefault: .*unknown base 'yesterday'/ ],
    [ 'CondCacheExpiresByType text "access plus 1 day"',
      qr/CondCacheExpiresByType: 'text' is not a media type/ ],
    [ 'CondCacheExpiresByType text/css',
      qr/CondCacheExpiresByType takes two arguments/ ],
    [ 'CondCacheControl max-age=5',
      qr/CondCacheControl: max-age comes from CondCacheExpiresDefault/ ],
    [ 'CondCacheControl pubic',
      qr/CondCacheControl: unknown directive 'pubic'/ ],
    [ 'CondCacheControl s-maxage=-5',
      qr/CondCacheControl: 's-maxage=-5' needs =seconds/ ],
    [ 'CondCacheControlByType text immutable',
      qr/CondCacheControlByType: 'text' is not a media type/ ],
    [ 'CondCacheControlMerge Sometimes',
      qr/CondCacheControlMerge: 'Sometimes' is not Merge, Keep or Replace/ ],
    [ 'CondCacheExpires maybe',
      qr/CondCacheExpires: 'maybe' is neither On nor Off/ ],
    [ 'CondCacheFreshnessStatus 200 503',
      qr/CondCacheFreshnessStatus: '503': only 2xx, 3xx and 4xx/ ],
    [ 'CondCacheFreshnessStatus ok',
      qr/CondCacheFreshnessStatus: 'ok' is not a status code/ ],
    [ 'CondCacheFingerprint "(unclosed"',
      qr/CondCacheFingerprint: '\(unclosed' is not a valid regular expression/ ],
    [ 'CondCacheDigest Override',                             undef ],
    [ 'CondCacheDigestMaxSize 0',                             undef ],
    [ 'CondCacheDigestMaxSize 1073741824',                    undef ],
    [ 'CondCacheDigest Always',
      qr/CondCacheDigest: 'Always' is not On, Off or Override/ ],
    [ 'CondCacheDigestMaxSize 1M',
      qr/CondCacheDigestMaxSize: '1M' is not a number of bytes/ ],
    [ 'CondCacheDigestMaxSize -1',
      qr/CondCacheDigestMaxSize: '-1' is not a number of bytes/ ],
    [ 'CondCacheDigestMaxSize 1073741825',
      qr/CondCacheDigestMaxSize: '1073741825' is not a number of bytes/ ],
    [ 'CondCacheDigestMaxWait 2',                             undef ],
    [ 'CondCacheDigestMaxWait 250ms',                         undef ],
    [ 'CondCacheDigestMaxWait 0',                             undef ],
    [ 'CondCacheDigestMaxWait 2sx',
      qr/CondCacheDigestMaxWait: '2sx' is not a time/ ],
    [ 'CondCacheDigestMaxWait soon',
      qr/CondCacheDigestMaxWait: 'soon' is not a time from 0 to 3600 seconds/ ],
    [ 'CondCacheDigestMaxWait -1',
      qr/CondCacheDigestMaxWait: '-1' is not a time/ ],
    [ 'CondCacheDigestMaxWait 3601',
      qr/CondCacheDigestMaxWait: '3601' is not a time/ ],
    [ 'CondCacheDigestMaxWait 2 3',
      qr/CondCacheDigestMaxWait takes one argument/ ],
    [ 'CondCacheFingerprint "x" "soon"',
      qr/CondCacheFingerprint: 'soon': unknown base 'soon'/ ],
    # the validator store, per scope
    [ 'CondCacheStoreLifetime "access plus 10 minutes"',       undef ],
    [ 'CondCacheStoreLifetime A600',                           undef ],
    [ 'CondCacheStoreLifetime off',                            undef ],
    [ 'CondCacheStoreLifetime "modification plus 1 hour"',
      qr/CondCacheStoreLifetime: 'modification plus 1 hour': an entry's lifetime counts from when it was stored/ ],
    [ 'CondCacheStoreLifetime soon',
      qr/CondCacheStoreLifetime: .*unknown base 'soon'/ ],
    [ 'CondCacheStoreUser REMOTE_USER cookie:sid header:X-User', undef ],
    [ 'CondCacheStoreUser nobody',
      qr/CondCacheStoreUser: 'nobody' is not REMOTE_USER, header:Name or cookie:Name/ ],
    [ 'CondCacheStoreUser cookie:',
      qr/CondCacheStoreUser: 'cookie:' is not REMOTE_USER/ ],
    [ 'CondCacheStoreIgnoreCacheControl On',                   undef ],
    [ 'CondCacheStoreIgnoreCacheControl maybe',
      qr/CondCacheStoreIgnoreCacheControl: 'maybe' is neither On nor Off/ ],
    # server-only directives refused in a directory
    [ 'CondCacheStoreTimeout 50ms',
      qr/CondCacheStoreTimeout not allowed in <Directory> context/, 'directory' ],
);

# The validator store's server-wide directives: [ lines, undef or the error ]
my $mods = "$root/modules";
my @server = (
    [ "CondCacheStore memcache:127.0.0.1:11211",
      qr/CondCacheStore: no socache provider 'memcache': add 'LoadModule socache_memcache_module modules\/mod_socache_memcache.so' before this line/ ],
    [ "CondCacheStore redis:127.0.0.1:6379",
      qr/CondCacheStore: no socache provider 'redis': add 'LoadModule socache_redis_module/ ],
    [ "LoadModule socache_shmcb_module \"$mods/mod_socache_shmcb.so\"\nCondCacheStore shmcb",
      undef ],
    [ "LoadModule socache_shmcb_module \"$mods/mod_socache_shmcb.so\"\nCondCacheStore \"shmcb:%d/store(1048576)\"",
      undef ],
    [ "LoadModule socache_shmcb_module \"$mods/mod_socache_shmcb.so\"\nCondCacheStore \"shmcb:%d/store(1k\"",
      qr/CondCacheStore: shmcb:.*: / ],
    [ "LoadModule socache_memcache_module \"$mods/mod_socache_memcache.so\"\nCondCacheStore memcache:127.0.0.1:11211,127.0.0.2:11211",
      undef ],
    [ "LoadModule socache_redis_module \"$mods/mod_socache_redis.so\"\nCondCacheStore redis:127.0.0.1:6379",
      undef ],
    [ "LoadModule socache_dbm_module \"$mods/mod_socache_dbm.so\"\nCondCacheStore dbm:%d/store.db",
      undef ],
    [ "CondCacheStore none", undef ],
    [ "<VirtualHost 127.0.0.1:65001>\nCondCacheStore none\n</VirtualHost>",
      qr/CondCacheStore cannot occur within <VirtualHost> section/ ],
    [ "CondCacheStoreTimeout 50ms",  undef ],
    [ "CondCacheStoreTimeout 2s",    undef ],
    [ "CondCacheStoreTimeout 0",
      qr/CondCacheStoreTimeout: '0' is not a time from 1ms to 60s/ ],
    [ "CondCacheStoreTimeout fast",
      qr/CondCacheStoreTimeout: 'fast' is not a time/ ],
    [ "CondCacheStoreTimeout 61s",
      qr/CondCacheStoreTimeout: '61s' is not a time/ ],
    [ "CondCacheStoreRetry 30",      undef ],
    [ "CondCacheStoreRetry 2mi",     undef ],
    [ "CondCacheStoreRetry 500ms",
      qr/CondCacheStoreRetry: '500ms' is not a time from 1s to 1h/ ],
    [ "CondCacheStoreRetry 3601",
      qr/CondCacheStoreRetry: '3601' is not a time from 1s to 1h/ ],
);

# Half-migrated configurations: freshness rules no CondCache On reaches,
# and beside ExpiresActive On, are said at startup with file and line.
# [ the configuration after the modules, the line of the directive the
#   warning names (from 1), the warning or undef for none ]
my @half = (
    [ "<Directory \"%d/a\">\nCondCacheExpiresDefault A60\n</Directory>", 2,
      qr/CC00007: .*, line %L: CondCacheExpiresDefault in <Directory .* has no effect: no CondCache On reaches that scope/ ],
    [ "CondCache On\n<Directory \"%d/a\">\nCondCacheExpiresDefault A60\n</Directory>", 3,
      undef ],
    [ "<Directory \"%d\">\nCondCache On\n</Directory>\n<Directory \"%d/a\">\nCondCacheControl public\n</Directory>", 5,
      undef ],
    [ "<Directory \"%d\">\nCondCache Off\n</Directory>\n<Directory \"%d/a\">\nCondCacheControl public\n</Directory>", 5,
      qr/CC00007: .*, line %L: CondCacheControl in <Directory/ ],
    [ "<Directory \"%d\">\nCondCache On\n</Directory>\n<Location /x>\nCondCacheExpiresDefault A60\n</Location>", 5,
      undef ],
    [ "<Location /x>\nCondCacheExpiresDefault A60\n</Location>", 2,
      qr/CC00007: .*, line %L: CondCacheExpiresDefault in <Location/ ],
    [ "CondCacheFingerprint \"\\.[0-9a-f]{8}\\.js\$\"", 1,
      qr/CC00007: .*, line %L: CondCacheFingerprint at server level/ ],
    [ "<VirtualHost 127.0.0.1:65001>\nCondCache On\n<Directory \"%d/a\">\nCondCacheExpiresDefault A60\n</Directory>\n</VirtualHost>", 4,
      undef ],
    [ "CondCache On\nExpiresActive On\n<Directory \"%d/a\">\nCondCacheExpiresByType text/css A60\n</Directory>", 4,
      qr/CC00008: .*, line %L: CondCacheExpiresByType in <Directory .* beside ExpiresActive On/ ],
    [ "<Directory \"%d/a\">\nCondCache On\nExpiresActive On\nCondCacheExpiresByType text/css A60\n</Directory>", 4,
      qr/CC00008: .*, line %L: CondCacheExpiresByType/ ],
    [ "CondCache On\nExpiresActive On\n<Directory \"%d/a\">\nExpiresActive Off\nCondCacheExpiresByType text/css A60\n</Directory>", 5,
      undef ],
    # a <Location> in a host with ExpiresActive On, whatever a <Directory>
    # elsewhere says
    [ "<Directory \"%d/x1\">\nExpiresActive On\n</Directory>\n<VirtualHost 127.0.0.1:65001>\nCondCache On\nExpiresActive On\n<Location /v>\nCondCacheControl public\n</Location>\n</VirtualHost>", 8,
      qr/CC00008: .*, line %L: CondCacheControl in <Location \/v> beside ExpiresActive On/ ],
    # a wildcard <Directory> is matched as httpd matches it
    [ "CondCache On\n<Directory \"%d/*/wild\">\nExpiresActive On\n</Directory>\n<Directory \"%d/x5/wild\">\nCondCacheExpiresDefault A10\n</Directory>", 6,
      qr/CC00008: .*, line %L: CondCacheExpiresDefault in <Directory .* beside ExpiresActive On/ ],
    [ "CondCache On\n<Directory \"%d/*/other\">\nExpiresActive On\n</Directory>\n<Directory \"%d/x5/wild\">\nCondCacheExpiresDefault A10\n</Directory>", 6,
      undef ],
);

plan tests => 2 * @cases + @half + @server;

my $dir = tempdir(CLEANUP => 1);
# the start of every configuration below
my $head = <<"EOC";
ServerRoot "$dir"
LoadModule mpm_event_module "$modules/mod_mpm_event.so"
LoadModule authz_core_module "$modules/mod_authz_core.so"
LoadModule expires_module "$modules/mod_expires.so"
LoadModule condcache_module "$module"
ServerName localhost
Listen 127.0.0.1:65001
ErrorLog "$dir/error_log"
PidFile "$dir/httpd.pid"
EOC
for my $c (@cases) {
    my ($line, $want, $only) = @$c;
    for my $scope ('server', 'directory') {
        if ($only && $scope ne $only) {
            ok t_cmp(1, 1, "$scope: '$line': not a case");
            next;
        }
        my $conf = "$dir/httpd.conf";
        open my $fh, '>', $conf or die "$conf: $!";
        print $fh $head, $scope eq 'server' ? "$line\n"
                                     : "<Directory \"$dir\">\n$line\n</Directory>\n";
        close $fh;
        my $out = `'$httpd' -t -d '$dir' -f '$conf' 2>&1`;
        my $rc = $? >> 8;
        if (defined $want) {
            ok t_cmp($rc != 0 && $out =~ $want ? 1 : 0, 1,
                     "$scope: '$line' refused, as /$want/: $out");
        }
        else {
            ok t_cmp($rc, 0, "$scope: '$line' accepted: $out");
        }
    }
}

my $head_lines = () = $head =~ /\n/g;
for my $c (@half) {
    my ($text, $line, $want) = @$c;
    (my $body = $text) =~ s/%d/$dir/g;
    my $conf = "$dir/half.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh $head, $body, "\n";
    close $fh;
    my $out = `'$httpd' -t -d '$dir' -f '$conf' 2>&1`;
    my $l = $head_lines + $line;
    (my $what = $text) =~ s/\n/ | /g;
    if (defined $want) {
        my $re = "$want";
        $re =~ s/%L/$l/g;
        ok t_cmp($out =~ /$re/ && $out =~ /\Q$conf\E/ ? 1 : 0, 1,
                 "warned: $what: $out");
    }
    else {
        ok t_cmp($out =~ /CC0000[78]/ ? $out : 'no warning', 'no warning',
                 "not warned: $what");
    }
}

for my $c (@server) {
    my ($text, $want) = @$c;
    (my $body = $text) =~ s/%d/$dir/g;
    my $conf = "$dir/server.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh $head, $body, "\n";
    close $fh;
    my $out = `'$httpd' -t -d '$dir' -f '$conf' 2>&1`;
    my $rc = $? >> 8;
    (my $what = $text) =~ s/\n/ | /g;
    if (defined $want) {
        ok t_cmp($rc != 0 && $out =~ $want ? 1 : 0, 1,
                 "refused, as /$want/: $what: $out");
    }
    else {
        ok t_cmp($rc, 0, "accepted: $what: $out");
    }
}
