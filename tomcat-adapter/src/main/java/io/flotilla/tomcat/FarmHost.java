package io.flotilla.tomcat;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Where the farm deploys: a folder Tomcat deploys WARs from, and a way to change one WAR there so that Tomcat's own
 * deployer deploys, redeploys or undeploys its application (in Tomcat: {@link HostConfigFarmHost}; in tests, a fake).
 *
 * <p>Threading: called on the farm's one worker thread.
 */
interface FarmHost {
    /** The folder WARs are deployed from (Tomcat: the Host's {@code appBase}). */
    Path appBase();

    /**
     * Runs {@code change} (a move of a complete WAR into {@link #appBase}, or a delete there) while Tomcat's deployer
     * leaves the application of {@code warName} alone, then has it deploy, redeploy or undeploy that application.
     *
     * @return false, without running {@code change}, when Tomcat's deployer is busy with that application: try later
     */
    boolean apply(String warName, FileChange change) throws IOException;

    /** A change of files, which may fail. */
    @FunctionalInterface
    interface FileChange {
        void run() throws IOException;
    }
}
