package dev.wirebus.cli;

import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * {@code wirebus}: the command line of the broker and its clients.
 *
 * <pre>{@code
 * int exit = WirebusCommand.newCommandLine().execute("pub", "demo", "hello");
 * }</pre>
 *
 * <p>Every failure a user can cause or meet (a bad argument, an unreachable broker, a refused
 * publish, a timeout) ends with one line on stderr, {@code wirebus: <what happened>}, and a
 * non-zero exit code; only a bug shows a stack trace.
 */
@Command(name = "wirebus",
        scope = CommandLine.ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "A messaging broker for services on local sockets and the network: streams with sequence numbers "
                    + "(pub/sub) and request/reply.",
            "",
            "Run 'wirebus serve' in one terminal and 'wirebus pub'/'wirebus sub' in another: clients and broker "
                    + "meet on the same default Unix socket: $WIREBUS_SOCKET if set, else $XDG_RUNTIME_DIR/wirebus.sock, "
                    + "else ./wirebus.sock.",
        },
        subcommands = {
            ServeCommand.class,
            PubCommand.class,
            SubCommand.class,
            ReqCommand.class,
            RespondCommand.class,
            ConsumersCommand.class,
            AdminCommands.StreamsCommand.class,
            AdminCommands.StreamCommand.class,
            AdminCommands.ConsumerCommand.class,
            AdminCommands.TokenCommand.class,
            CommandLine.HelpCommand.class,
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:the operation failed (refused by the broker, timed out, broker unreachable)",
            "2:invalid command line",
        })
public final class WirebusCommand implements Callable<Integer> {
    /** Exit code of an invalid command line. */
    static final int USAGE = 2;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        CommandLine cl = newCommandLine();
        // UTF-8 whatever the locale (payloads are UTF-8), and straight to the file descriptors, so that
        // a closed stdout (sub | head -1) shows up in PrintWriter.checkError()
        cl.setOut(writer(FileDescriptor.out));
        cl.setErr(writer(FileDescriptor.err));
        System.exit(cl.execute(args));
    }

    private static PrintWriter writer(FileDescriptor fd) {
        return new PrintWriter(new BufferedWriter(new OutputStreamWriter(new FileOutputStream(fd),
                StandardCharsets.UTF_8)), true);
    }

    /** The command line wired for the process: stdin is {@link System#in}. */
    public static CommandLine newCommandLine() {
        return newCommandLine(System.in);
    }

    /**
     * The command line with its error handling. {@code stdin} is where {@code pub} reads messages
     * when none are given as arguments; set stdout and stderr with {@link CommandLine#setOut} and
     * {@link CommandLine#setErr}.
     */
    public static CommandLine newCommandLine(InputStream stdin) {
        return newCommandLine(stdin, System::getenv);
    }

    /**
     * The command line reading {@code WIREBUS_*} settings of {@code serve} and the clients'
     * {@code WIREBUS_TOKEN} from {@code environment} instead of the process environment.
     */
    static CommandLine newCommandLine(InputStream stdin, Supplier<Map<String, String>> environment) {
        CommandLine.IFactory defaults = CommandLine.defaultFactory();
        CommandLine.IFactory factory = new CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                if (cls == PubCommand.class) {
                    return cls.cast(new PubCommand(stdin));
                }
                if (cls == ServeCommand.class) {
                    return cls.cast(new ServeCommand(environment));
                }
                if (cls == ConnectOptions.class) {
                    return cls.cast(new ConnectOptions(environment));
                }
                return defaults.create(cls);
            }
        };
        CommandLine cl = new CommandLine(new WirebusCommand(), factory);
        cl.setExecutionExceptionHandler(WirebusCommand::onExecutionException);
        cl.setParameterExceptionHandler(WirebusCommand::onParameterException);
        return cl;
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(),
                "missing command: serve, pub, sub, req, respond or consumers");
    }

    // ---------------------------------------------------------------- error reporting

    /** A bad command line: one line naming the problem and where to find help. */
    private static int onParameterException(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        StringBuilder line = new StringBuilder("wirebus: ").append(firstLine(e.getMessage()));
        if (e instanceof CommandLine.UnmatchedArgumentException u) {
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) {
                line.append(" (did you mean ").append(String.join(" or ", suggestions)).append("?)");
            }
        }
        line.append(" (see '").append(cl.getCommandSpec().qualifiedName()).append(" --help')");
        PrintWriter err = cl.getErr();
        err.println(line);
        err.flush();
        return USAGE;
    }

    /** A failure while running: expected ones are one line, anything else is a bug and shows its stack trace. */
    private static int onExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        Throwable e = unwrap(ex);
        int code = CliFailure.FAILED;
        String message;
        if (e instanceof CliFailure f) {
            code = f.exitCode();
            message = f.getMessage();
        } else if (e instanceof WirebusException w) {
            message = describe(w);
        } else if (e instanceof IOException || e instanceof UncheckedIOException) {
            message = String.valueOf(e.getMessage());
        } else if (e instanceof IllegalArgumentException) {
            // the client and broker validate their inputs and name the offending value
            message = e.getMessage() + " (see '" + cl.getCommandSpec().qualifiedName() + " --help')";
            code = USAGE;
        } else {
            err.println("wirebus: internal error, please report it: " + e);
            e.printStackTrace(err);
            err.flush();
            return CliFailure.FAILED;
        }
        if (message != null && !message.isEmpty()) {
            err.println("wirebus: " + firstLine(message));
        }
        err.flush();
        return code;
    }

    /** A client exception's message, with the broker's error code when it names one. */
    static String describe(WirebusException w) {
        String message = String.valueOf(w.getMessage());
        if (w.errorCode() != ErrorCode.UNKNOWN && !message.contains(w.errorCode().name())) {
            message += " (" + w.errorCode().name() + ")";
        }
        return message;
    }

    /** The cause that says what went wrong, under CompletionException/ExecutionException wrappers. */
    static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl).strip();
    }
}
