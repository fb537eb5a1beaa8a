package dev.wirebus.security;

/**
 * A pattern over stream names, subjects and consumer names, in the one wildcard syntax of wirebus:
 * names are {@code .}-separated tokens, and a pattern matches token by token.
 * <ul>
 *   <li>{@code blocks} matches exactly {@code blocks};</li>
 *   <li>{@code *} as a whole token matches any one token: {@code state.*} matches {@code state.epoch},
 *       not {@code state} nor {@code state.epoch.x};</li>
 *   <li>{@code >} as the last token matches one or more tokens: {@code state.>} matches
 *       {@code state.epoch} and {@code state.epoch.x}, not {@code state}; {@code >} alone matches
 *       every name;</li>
 *   <li>a token ending in {@code *} matches the tokens starting with what precedes it:
 *       {@code chat.session-*} matches {@code chat.session-42} and {@code chat.session-}, not
 *       {@code chat.session-42.x}.</li>
 * </ul>
 * Anything else in a token ({@code *} in the middle, {@code >} not alone or not last, an empty
 * token) is refused when the pattern is parsed.
 *
 * <pre>{@code
 * ResourcePattern.parse("chat.session-*").matches("chat.session-42"); // true
 * }</pre>
 *
 * <p>Immutable and thread-safe; matching allocates nothing.
 */
public final class ResourcePattern {
    private final String text;
    private final String[] tokens;
    private final boolean literal;

    private ResourcePattern(String text, String[] tokens, boolean literal) {
        this.text = text;
        this.tokens = tokens;
        this.literal = literal;
    }

    /**
     * The pattern written as {@code text}.
     *
     * @throws IllegalArgumentException naming the pattern and what is wrong with it
     */
    public static ResourcePattern parse(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("an empty pattern");
        }
        String[] tokens = text.split("\\.", -1);
        boolean literal = true;
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i];
            if (t.isEmpty()) {
                throw new IllegalArgumentException("pattern '" + text + "' has an empty token (tokens are separated by"
                        + " single dots)");
            }
            int gt = t.indexOf('>');
            if (gt >= 0 && (!t.equals(">") || i != tokens.length - 1)) {
                throw new IllegalArgumentException("pattern '" + text + "': '>' must be a whole token and the last one");
            }
            int star = t.indexOf('*');
            if (star >= 0 && star != t.length() - 1) {
                throw new IllegalArgumentException("pattern '" + text + "': '*' must be a whole token or end one"
                        + " (as in chat.session-*)");
            }
            if (gt >= 0 || star >= 0) {
                literal = false;
            }
        }
        return new ResourcePattern(text, tokens, literal);
    }

    /** Whether the pattern has no wildcard, so matches only the name it spells. */
    public boolean isLiteral() {
        return literal;
    }

    /** Whether {@code name} matches this pattern. */
    public boolean matches(String name) {
        if (literal) {
            return text.equals(name);
        }
        int pos = 0;
        int n = name.length();
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i];
            if (pos > n) {
                return false; // the name has fewer tokens than the pattern
            }
            if (t.equals(">")) {
                return pos < n; // at least one more token, of any content
            }
            int dot = name.indexOf('.', pos);
            int end = dot < 0 ? n : dot;
            if (t.equals("*")) {
                if (end == pos) {
                    return false;
                }
            } else if (t.endsWith("*")) {
                int prefix = t.length() - 1;
                if (end - pos < prefix || !name.regionMatches(pos, t, 0, prefix)) {
                    return false;
                }
            } else if (end - pos != t.length() || !name.regionMatches(pos, t, 0, t.length())) {
                return false;
            }
            pos = end + 1;
        }
        return pos == n + 1; // the name ended with the pattern's last token
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResourcePattern p && p.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }

    /** The pattern as written. */
    @Override
    public String toString() {
        return text;
    }
}
