/**
 * Flotilla in Tomcat: the {@code <Cluster>} element and what it installs (see {@code docs/tomcat.md}).
 *
 * <p><b>API</b> (named in {@code server.xml}, set by Tomcat's digester, read over JMX): {@link
 * io.flotilla.tomcat.FlotillaCluster} (its attributes are the configuration), {@link
 * io.flotilla.tomcat.FlotillaManager}, {@link io.flotilla.tomcat.ReplicationValve}, {@link
 * io.flotilla.tomcat.JvmRouteBinderValve}, {@link io.flotilla.tomcat.FarmDeployer} (the {@code <Deployer>}) and {@link
 * io.flotilla.tomcat.ClusterMBean}; and the command {@link
 * io.flotilla.tomcat.MigrateCommand}. Their public setters and getters are public for Tomcat's reflection; code
 * never calls them. Everything else here is package-private.
 *
 * <p>Threading and errors: Tomcat calls the lifecycle methods on its start and stop threads and the valves on
 * request threads; each type's javadoc says which state it shares. A bad attribute fails the cluster's start with
 * one message listing every bad attribute and its value; a replication failure answers the request with 500 when
 * the configuration asks for it.
 */
package io.flotilla.tomcat;
