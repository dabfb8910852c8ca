global using Ltb.Topology.Model;
