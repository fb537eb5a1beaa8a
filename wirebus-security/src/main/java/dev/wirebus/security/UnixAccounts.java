package dev.wirebus.security;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * User and group names of uids and gids, read from {@code /etc/passwd} and {@code /etc/group}
 * (accounts only a name service such as LDAP knows are not seen: map those by number). Read
 * once per configuration load.
 *
 * <pre>{@code
 * UnixAccounts accounts = UnixAccounts.system();
 * String user = accounts.userName(1000); // "alice", or null
 * }</pre>
 */
public final class UnixAccounts {
    private final Map<Integer, String> users = new HashMap<>();
    private final Map<Integer, String> groups = new HashMap<>();
    /** Group names each user name is a listed member of (supplementary groups). */
    private final Map<String, List<String>> memberOf = new HashMap<>();

    private UnixAccounts() {
    }

    /** The accounts of this machine. */
    public static UnixAccounts system() {
        return read(Path.of("/etc/passwd"), Path.of("/etc/group"));
    }

    /** The accounts in these files; a missing file counts as empty. */
    public static UnixAccounts read(Path passwd, Path group) {
        UnixAccounts a = new UnixAccounts();
        for (String[] f : fields(passwd)) {
            if (f.length >= 4) {
                Integer uid = number(f[2]);
                if (uid != null) {
                    a.users.putIfAbsent(uid, f[0]);
                }
            }
        }
        for (String[] f : fields(group)) {
            if (f.length >= 3) {
                Integer gid = number(f[2]);
                if (gid != null) {
                    a.groups.putIfAbsent(gid, f[0]);
                }
                if (f.length >= 4 && !f[3].isEmpty()) {
                    for (String member : f[3].split(",")) {
                        a.memberOf.computeIfAbsent(member.strip(), m -> new ArrayList<>()).add(f[0]);
                    }
                }
            }
        }
        return a;
    }

    /** The name of {@code uid}, or null. */
    public String userName(int uid) {
        return users.get(uid);
    }

    /** The name of {@code gid}, or null. */
    public String groupName(int gid) {
        return groups.get(gid);
    }

    /** The groups that list {@code user} as a member. */
    public List<String> supplementaryGroups(String user) {
        return memberOf.getOrDefault(user, List.of());
    }

    private static List<String[]> fields(Path file) {
        List<String[]> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(line.split(":", -1));
                }
            }
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static Integer number(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
