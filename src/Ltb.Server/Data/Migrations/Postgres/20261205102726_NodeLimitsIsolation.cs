using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class NodeLimitsIsolation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "CpuOvercommit",
                table: "LabHosts",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "EngineAppArmor",
                table: "LabHosts",
                type: "boolean",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "EngineSeccomp",
                table: "LabHosts",
                type: "boolean",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "EngineUserNamespaces",
                table: "LabHosts",
                type: "boolean",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "MemoryOvercommit",
                table: "LabHosts",
                type: "double precision",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "CpuOvercommit",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "EngineAppArmor",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "EngineSeccomp",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "EngineUserNamespaces",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "MemoryOvercommit",
                table: "LabHosts");
        }
    }
}
