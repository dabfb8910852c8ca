using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Spanning : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "LabTasks",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "JobId",
                table: "LabTasks",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LayoutJson",
                table: "Labs",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PlacementReason",
                table: "Labs",
                type: "character varying(2000)",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "CpusOverride",
                table: "LabHosts",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "MemoryBytesOverride",
                table: "LabHosts",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TunnelAddress",
                table: "LabHosts",
                type: "character varying(100)",
                maxLength: 100,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "LabTunnels",
                columns: table => new
                {
                    Vni = table.Column<int>(type: "integer", nullable: false),
                    LabId = table.Column<Guid>(type: "uuid", nullable: false),
                    LinkKey = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LabTunnels", x => x.Vni);
                    table.ForeignKey(
                        name: "FK_LabTunnels_Labs_LabId",
                        column: x => x.LabId,
                        principalTable: "Labs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_LabTunnels_LabId",
                table: "LabTunnels",
                column: "LabId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "LabTunnels");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "LabTasks");

            migrationBuilder.DropColumn(
                name: "JobId",
                table: "LabTasks");

            migrationBuilder.DropColumn(
                name: "LayoutJson",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "PlacementReason",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "CpusOverride",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "MemoryBytesOverride",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "TunnelAddress",
                table: "LabHosts");
        }
    }
}
